// RecordDecoder: turns the BPF programs' gr_records into the events of the shared model —
// exactly what the ptrace decoder emits for the same hits: link-time PCs (a PIE's load bias
// removed, per process), gopark's entry as frame 0 of a park's block stack, a creation stack
// that starts at gopc (or is gopc alone), stacks cut to --stack-depth.
//
// Decoding is split from delivery so the ring buffer's callback only decodes: decode() appends
// to a RecordBatch (no I/O, no sink); deliver() later interns the stacks and emits to the
// process's sink, keeping times non-decreasing per process. Ring order is causal order (a hit's
// record is in the ring before the thread that hit goes on), but each CPU stamps its own hits,
// so a time may be a little earlier than the one before it: it is raised to that one.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "gorepro_record.h"
#include "replay/event.h"
#include "tracer/event_sink.h"
#include "util/result.h"

namespace gorepro::bpf {

// One decoded record, waiting for delivery.
struct Decoded {
  enum class Kind : uint8_t { kEvent, kSchedBegin, kSchedEnd, kSchedRead, kExec };
  Kind kind = Kind::kEvent;
  pid_t pid = 0;
  replay::Event event;           // kEvent; time_ns for every kind; goid for kSchedRead
  bool has_stack = false;        // event.stack is to be interned from pcs[stack_begin, +stack_len)
  uint32_t stack_begin = 0, stack_len = 0;
};

struct RecordBatch {
  std::vector<Decoded> items;
  std::vector<uint64_t> pcs;  // the stacks' frames, link-time
  void clear() { items.clear(), pcs.clear(); }
};

class RecordDecoder {
 public:
  // gopark_entry: link-time entry of runtime.gopark (ProbeLayout::gopark_entry).
  RecordDecoder(uint64_t gopark_entry, int stack_depth) : gopark_entry_(gopark_entry), depth_(stack_depth) {}

  // The load bias of process pid (run-time minus link-time addresses; 0 unless PIE). A pid
  // never set is decoded with bias 0.
  void set_bias(pid_t pid, uint64_t bias) { bias_[pid] = bias; }
  bool knows(pid_t pid) const { return bias_.count(pid) != 0; }

  void decode(const gr_record& r, RecordBatch& out) const;

 private:
  uint64_t gopark_entry_;
  size_t depth_;
  std::unordered_map<pid_t, uint64_t> bias_;
};

// Where one process's delivery stands.
struct Delivery {
  uint64_t last_time_ns = 0;  // events are never stamped earlier than this
  uint64_t events = 0;        // events emitted so far
};

// Emits the items [begin, end) of a batch that belong to process pid to its sink: stacks
// interned, times raised to be non-decreasing. Schedtrace markers go to the sink's schedtrace
// calls; kExec items are the caller's (skipped here).
Status deliver(const RecordBatch& batch, size_t begin, size_t end, pid_t pid, tracer::EventSink& sink, Delivery& state);

// The load bias of a running process from its auxiliary vector (AT_ENTRY minus the ELF entry).
Result<uint64_t> load_bias_of(pid_t pid, uint64_t elf_entry);

}  // namespace gorepro::bpf
