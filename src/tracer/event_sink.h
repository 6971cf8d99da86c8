// EventSink: where a backend delivers what it decoded. The trace writer implements it for
// `record`; tests can collect events in memory. Stacks are interned by the sink so every
// backend's events refer to the same tables.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>

#include "replay/event.h"
#include "replay/leak_verdicts.h"
#include "replay/labels.h"
#include "replay/lost_events.h"
#include "replay/snapshot_mark.h"
#include "util/result.h"

namespace gorepro::tracer {

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual replay::StackId intern_stack(std::span<const uint64_t> pcs) = 0;
  virtual Status emit(const replay::Event& e) = 0;
  // e, with the pprof labels its goroutine had when e was seen (empty: none, or no longer).
  // Backends call it only where the labels are new to them; a sink that keeps no labels emits e.
  virtual Status emit_labeled(const replay::Event& e, const replay::Labels& labels) {
    (void)labels;
    return emit(e);
  }
  // Called when the backend is idle, so buffered events reach the disk in quiet periods.
  virtual Status tick(uint64_t now_ns) { (void)now_ns; return Ok{}; }
  // The runtime began (begin) or finished a GODEBUG=schedtrace dump at now_ns, in the order of
  // the events emitted: the dump read the goroutines' states between the two.
  virtual void schedtrace_dump(uint64_t now_ns, bool begin) { (void)now_ns, (void)begin; }
  // Within a dump: the runtime reads goroutine goid's status for its G line now, after every
  // event emitted so far and before the next.
  virtual void schedtrace_g_read(uint64_t goid) { (void)goid; }
  // Within a dump: reads stop being probed here (EventDecoder::kSchedReadsPerDump); the dump's
  // later G lines have no read position.
  virtual void schedtrace_reads_capped() {}
  // The backend's transport dropped events since it last said so (eBPF: its ring buffer was
  // full); the trace records it where it is noticed among the events.
  virtual Status events_lost(const replay::LostEvents& lost) { (void)lost; return Ok{}; }
  // A snapshot recording read the goroutine list and emitted what changed since the last one;
  // the trace marks the point (the events before it are exact as of mark.time_ns).
  virtual Status snapshot_taken(const replay::SnapshotMark& mark) { (void)mark; return Ok{}; }
  // The leak verdicts of the report instant (the program's exit, the end of an attach), taken
  // with the program stopped; the trace records them (kind 10).
  virtual Status verdicts_taken(const replay::LeakVerdicts& verdicts) { (void)verdicts; return Ok{}; }
};

// Passes events on and remembers the first one `when` asks to hold at: how a LiveTarget backend
// learns, after decoding a hit, that it must hold the program (LiveTarget::hold_when). `when`
// is read at each event, so it may be changed between polls. It also keeps the last event, which
// a perturbing backend shows its Perturber.
class HoldSink : public EventSink {
 public:
  HoldSink(EventSink& next, const std::function<bool(const replay::Event&)>& when) : next_(next), when_(when) {}
  replay::StackId intern_stack(std::span<const uint64_t> pcs) override { return next_.intern_stack(pcs); }
  Status emit(const replay::Event& e) override { return seen(e, next_.emit(e)); }
  Status emit_labeled(const replay::Event& e, const replay::Labels& labels) override {
    return seen(e, next_.emit_labeled(e, labels));
  }
  Status tick(uint64_t now_ns) override { return next_.tick(now_ns); }
  void schedtrace_dump(uint64_t now_ns, bool begin) override { next_.schedtrace_dump(now_ns, begin); }
  void schedtrace_g_read(uint64_t goid) override { next_.schedtrace_g_read(goid); }
  void schedtrace_reads_capped() override { next_.schedtrace_reads_capped(); }
  Status verdicts_taken(const replay::LeakVerdicts& v) override { return next_.verdicts_taken(v); }

  std::optional<replay::Event> matched;
  std::optional<replay::Event> last;  // the last event passed on (the backend resets it)

 private:
  Status seen(const replay::Event& e, Status st) {
    if (st && !matched && when_ && when_(e)) matched = e;
    if (st) last = e;
    return st;
  }
  EventSink& next_;
  const std::function<bool(const replay::Event&)>& when_;
};

}  // namespace gorepro::tracer
