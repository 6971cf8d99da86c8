// Event: one thing that happened to a goroutine, as every backend (ptrace, gdb, ebpf) reports
// it and as the trace file stores it. One flat value type rather than a variant so that the
// writer's hot path is a switch over `kind` with no allocation; the factories below name which
// fields each kind uses (the others stay zero and are not stored).
#pragma once

#include <cstdint>
#include <string_view>

namespace gorepro::replay {

// Ids of interned stacks and strings (TraceWriter::intern_*). Id 0 is always the empty stack /
// the empty string, so "no stack" needs no special case.
using StackId = uint32_t;
using StringId = uint32_t;

// Goroutine states as gorepro models them (not the runtime's _G* constants, which vary by Go
// version; backends map those). The numeric values are part of the trace format.
enum class GoState : uint8_t { Unknown = 0, Runnable = 1, Running = 2, Waiting = 3, Syscall = 4, Dead = 5 };
inline constexpr int kGoStateCount = 6;
std::string_view go_state_name(GoState s);

// The numeric values are the record kinds of the trace format (docs/trace-format.md).
enum class EventKind : uint8_t {
  Create = 2,       // goid created by parent at gopc, will start at start_pc
  Park = 3,         // goid stopped running to wait (wait_reason, object, block stack)
  Ready = 4,        // goid made runnable by waker (other_goid, 0 if unknown)
  Exit = 5,         // goid finished
  Sched = 6,        // a GODEBUG=schedtrace sample (text: the raw SCHED block)
  Preexisting = 7,  // goid was alive when recording began (attach)
  State = 8,        // goid changed state (Running, Runnable, Syscall) — format 2.0, state probes
};

struct Event {
  EventKind kind = EventKind::Exit;
  GoState state = GoState::Unknown;  // Preexisting: the state found; State: the new state
  uint32_t tid = 0;                  // OS thread that reported it (0: none, e.g. Sched)
  uint32_t wait_reason = 0;          // Park, Preexisting: code into the header's wait-reason table
  StackId stack = 0;                 // Create: creation stack; Park, Preexisting: block stack
  StringId text = 0;                 // Sched: raw SCHED text
  uint64_t seq = 0;                  // dense position in the trace; set by writer and reader
  uint64_t time_ns = 0;              // CLOCK_MONOTONIC
  uint64_t goid = 0;                 // the goroutine the event is about (Create: the new one)
  uint64_t other_goid = 0;           // Create, Preexisting: parent; Ready: waker; 0 = unknown
  uint64_t pc = 0;                   // Create, Preexisting: gopc (return address of the go statement)
  uint64_t start_pc = 0;             // Create, Preexisting: entry of the start function
  uint64_t object = 0;               // Park: address of the channel/mutex/... blocked on, 0 = unknown
  uint64_t lag_ns = 0;               // Sched: time_ns minus the arrival of the block's first byte
  uint64_t span_ns = 0;              // Sched: arrival of its last byte minus its first (0 = unknown)
  uint64_t dump_begin_ns = 0;        // Sched: when the runtime began / ended the dump (tracer's
  uint64_t dump_end_ns = 0;          //   clock, probes on runtime.schedtrace); 0 = unknown
  StringId g_reads = 0;              // Sched: packed (goid, position) pairs — see sched_g_reads()
  uint32_t interval_ms = 0;          // Sched: the runtime's dump interval from this dump on, when
                                     //   record changed it after this dump (tracer/sched_pacer.h); 0 = unchanged
  // Read from a trace: the goroutine's pprof labels as a labels record (kind 9) right after
  // this event gives them — an id for TraceReader::labels(), 0 when no record follows. Writers
  // take labels apart (TraceWriter::append), never from here.
  uint32_t labels = 0;

  static Event create(uint64_t time, uint32_t tid, uint64_t parent, uint64_t goid, uint64_t gopc,
                      uint64_t start_pc, StackId creation_stack) {
    Event e;
    e.kind = EventKind::Create;
    e.time_ns = time, e.tid = tid, e.other_goid = parent, e.goid = goid;
    e.pc = gopc, e.start_pc = start_pc, e.stack = creation_stack;
    return e;
  }
  static Event park(uint64_t time, uint32_t tid, uint64_t goid, uint32_t wait_reason,
                    uint64_t object, StackId block_stack) {
    Event e;
    e.kind = EventKind::Park;
    e.time_ns = time, e.tid = tid, e.goid = goid;
    e.wait_reason = wait_reason, e.object = object, e.stack = block_stack;
    return e;
  }
  static Event ready(uint64_t time, uint32_t tid, uint64_t goid, uint64_t waker) {
    Event e;
    e.kind = EventKind::Ready;
    e.time_ns = time, e.tid = tid, e.goid = goid, e.other_goid = waker;
    return e;
  }
  static Event exit(uint64_t time, uint32_t tid, uint64_t goid) {
    Event e;
    e.kind = EventKind::Exit;
    e.time_ns = time, e.tid = tid, e.goid = goid;
    return e;
  }
  static Event sched(uint64_t time, StringId raw_text, uint64_t lag_ns = 0, uint64_t span_ns = 0) {
    Event e;
    e.kind = EventKind::Sched;
    e.time_ns = time, e.text = raw_text, e.lag_ns = lag_ns, e.span_ns = span_ns;
    return e;
  }
  // Sched: when the sampled block started and finished arriving.
  uint64_t sched_first_ns() const { return time_ns - lag_ns; }
  uint64_t sched_last_ns() const { return time_ns - lag_ns + span_ns; }
  static Event state_change(uint64_t time, uint32_t tid, uint64_t goid, GoState to) {
    Event e;
    e.kind = EventKind::State;
    e.time_ns = time, e.tid = tid, e.goid = goid, e.state = to;
    return e;
  }
  static Event preexisting(uint64_t time, uint64_t goid, uint64_t parent, GoState state,
                           uint32_t wait_reason, uint64_t gopc, uint64_t start_pc, StackId stack) {
    Event e;
    e.kind = EventKind::Preexisting;
    e.time_ns = time, e.goid = goid, e.other_goid = parent, e.state = state;
    e.wait_reason = wait_reason, e.pc = gopc, e.start_pc = start_pc, e.stack = stack;
    return e;
  }

  bool operator==(const Event&) const = default;
};

std::string_view event_kind_name(EventKind k);

}  // namespace gorepro::replay
