// SchedFeed: feeds the runtime's GODEBUG=schedtrace blocks (captured by RuntimeOutputCapture) to
// the trace writer between the backend's events, on the recording thread, keeping event times
// non-decreasing. A block is paired with the dump the tracer saw the runtime begin last before
// the block's first byte arrived, and is appended once that dump has ended (its
// runtime.schedtrace return seen), stamped with the end; a block handed over late is stamped
// later, with the lag recorded. Without dump probes, blocks go in as they arrive.
//
// TraceSink: the EventSink that writes a recording — the backend's events into the trace
// writer, each preceded by the schedtrace blocks due before it.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "replay/trace_writer.h"
#include "tracer/event_sink.h"
#include "tracer/runtime_output.h"
#include "tracer/sched_pacer.h"

namespace gorepro::tracer {

class SchedFeed {
 public:
  // pacer (may be null): told each dump's begin and end, may stretch the runtime's interval;
  // the block of a dump after which it did carries the new interval.
  SchedFeed(replay::TraceWriter& w, RuntimeOutputCapture* c, SchedPacer* pacer = nullptr)
      : w_(w), capture_(c), pacer_(pacer) {}
  void dump(uint64_t now_ns, bool begin);
  void g_read(uint64_t goid);
  // The current dump's later G lines are not probed: its reads name a prefix of its G lines.
  void reads_capped();
  Status before(uint64_t time_ns) { return feed(time_ns, false); }
  Status drain_all() { return feed(UINT64_MAX, true); }
  uint64_t appended() const { return appended_; }
  // The tracer saw the runtime begin its last dump and never end it: the program exited mid-dump.
  bool ended_mid_dump() const { return !dumps_.empty() && !dumps_.back().end_ns; }

 private:
  struct Dump {
    uint64_t begin_ns = 0, end_ns = 0;
    std::vector<std::pair<uint64_t, uint64_t>> reads;  // (goid, seq of the next event) per G line
    bool paired = false;  // a block was appended with it
    bool capped = false;  // reads() cover only the first G lines (reads_capped)
    uint32_t interval_ms = 0;  // the pacer set this interval after the dump (0: unchanged)
  };
  Status feed(uint64_t time_ns, bool all);

  replay::TraceWriter& w_;
  RuntimeOutputCapture* capture_;
  SchedPacer* pacer_;
  std::deque<RuntimeOutputCapture::Block> pending_;
  std::deque<Dump> dumps_;
  uint64_t last_ = 0;
  uint64_t appended_ = 0;
};

class TraceSink : public EventSink {
 public:
  TraceSink(replay::TraceWriter& w, SchedFeed& sched) : w_(w), sched_(sched) {}
  replay::StackId intern_stack(std::span<const uint64_t> pcs) override { return w_.intern_stack(pcs); }
  Status emit(const replay::Event& e) override {
    if (auto st = sched_.before(e.time_ns); !st) return st;
    return w_.append(e);
  }
  Status emit_labeled(const replay::Event& e, const replay::Labels& labels) override {
    if (auto st = sched_.before(e.time_ns); !st) return st;
    return w_.append(e, &labels);
  }
  Status tick(uint64_t now_ns) override {
    if (auto st = sched_.before(now_ns); !st) return st;
    return w_.flush_if_due(now_ns);
  }
  void schedtrace_dump(uint64_t now_ns, bool begin) override { sched_.dump(now_ns, begin); }
  void schedtrace_g_read(uint64_t goid) override { sched_.g_read(goid); }
  void schedtrace_reads_capped() override { sched_.reads_capped(); }
  Status events_lost(const replay::LostEvents& lost) override { return w_.append_lost(lost); }
  Status snapshot_taken(const replay::SnapshotMark& mark) override { return w_.append_snapshot(mark); }
  Status verdicts_taken(const replay::LeakVerdicts& v) override { return w_.append_verdicts(v); }

 private:
  replay::TraceWriter& w_;
  SchedFeed& sched_;
};

}  // namespace gorepro::tracer
