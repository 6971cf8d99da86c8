// EventSink: where a backend delivers what it decoded. The trace writer implements it for
// `record`; tests can collect events in memory. Stacks are interned by the sink so every
// backend's events refer to the same tables.
#pragma once

#include <cstdint>
#include <span>

#include "replay/event.h"
#include "util/result.h"

namespace gorepro::tracer {

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual replay::StackId intern_stack(std::span<const uint64_t> pcs) = 0;
  virtual Status emit(const replay::Event& e) = 0;
  // Called when the backend is idle, so buffered events reach the disk in quiet periods.
  virtual Status tick(uint64_t now_ns) { (void)now_ns; return Ok{}; }
  // The runtime began (begin) or finished a GODEBUG=schedtrace dump at now_ns, in the order of
  // the events emitted: the dump read the goroutines' states between the two.
  virtual void schedtrace_dump(uint64_t now_ns, bool begin) { (void)now_ns, (void)begin; }
  // Within a dump: the runtime reads goroutine goid's status for its G line now, after every
  // event emitted so far and before the next.
  virtual void schedtrace_g_read(uint64_t goid) { (void)goid; }
};

}  // namespace gorepro::tracer
