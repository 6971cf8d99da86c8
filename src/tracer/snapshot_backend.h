// SnapshotBackend: `record --snapshot INTERVAL` — no probes at all. Every interval it reads the
// goroutine list (runtime.allgs) and each goroutine's goid, status, wait reason, creation and
// start PCs, parent and, for a goroutine that newly waits, its stack (frame-pointer walk from
// g.sched) with process_vm_readv (ProcessMemory, batched), while the program runs: nothing is
// stopped, written or patched, so the program runs on unchanged whatever happens to gorepro.
// Its cost grows with the number of goroutines and the interval, never with the event rate.
//
// The reads become the trace's ordinary events, as differences from the previous read
// (SnapshotDiff): the first read of an attached program gives preexisting events, a goroutine
// that appears a create, one that is gone an exit, a changed wait a park/ready/state; each read
// is then marked in the trace (replay::SnapshotMark, kind 12), so readers know the trace is
// sampled: exact at each mark, blind to what came and went between two.
//
// Invariants: the target is never stopped or written to; a read that could not see every g
// (the program was exiting) is dropped whole, never half applied; event times never decrease.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "tracer/backend.h"
#include "tracer/event_decoder.h"

namespace gorepro::tracer {

// Turns consecutive goroutine lists into events. Exposed for tests of the mapping.
class SnapshotDiff {
 public:
  // The first list of an attached program: a preexisting event per goroutine.
  Status baseline(const GoroutineList& list, uint64_t t, EventDecoder& decoder);
  // Every later list (and a launched program's first): the differences from the last one.
  Status next(const GoroutineList& list, uint64_t t, EventDecoder& decoder, EventSink& sink);
  size_t live() const { return known_.size(); }

 private:
  struct Known {
    replay::GoState state = replay::GoState::Runnable;
    uint32_t wait_reason = 0;
    uint64_t sched_pc = 0;  // where it waits: a change means it woke and waited again
    uint64_t generation = 0;
    uint64_t labels = 0;  // g.labels as last written (labels change by replacing the pointer)
  };
  // Emits e about s's goroutine, with its labels when they changed since k saw them. A change
  // of labels alone, with no other change to say, waits for the goroutine's next event.
  Status emit(const replay::Event& e, const GoroutineSample& s, Known& k, EventDecoder& decoder, EventSink& sink);
  // Emits what takes goid from k's state to s's, and records it in k.
  Status transition(const GoroutineSample& s, Known& k, uint64_t t, EventDecoder& decoder, EventSink& sink);
  std::unordered_map<uint64_t, Known> known_;
  std::unordered_set<uint64_t> now_;  // the goids of the list being applied
  uint64_t generation_ = 0;
};

class SnapshotBackend final : public Backend {
 public:
  SnapshotBackend(const GoBinary& binary, uint64_t interval_ns);
  ~SnapshotBackend() override;

  const char* name() const override { return "snapshot"; }
  BackendCaps caps() const override {
    return BackendCaps{.stops_target = false, .survives_tracer_death = true, .can_patch = false,
                       .sched_probes = false, .probes = false};
  }
  Status launch(const LaunchSpec& spec) override;
  Status attach(pid_t pid) override;
  pid_t pid() const override { return pid_; }
  uint64_t load_bias() const override { return bias_; }
  Result<ArmResult> arm(const ArmSpec& spec, EventSink& sink) override;
  PollResult poll(uint64_t until_ns) override;
  void request_stop() override { stop_.store(true, std::memory_order_relaxed); }
  Status detach() override;
  std::optional<TargetExit> target_exit() const override { return exit_; }
  BackendStats stats() const override { return stats_; }

 private:
  // Reads the goroutine list once and delivers it (baseline or differences) with its mark;
  // a PollResult when the recording cannot go on.
  std::optional<PollResult> take_snapshot(bool baseline);
  bool exited();

  const GoBinary& binary_;
  const uint64_t interval_ns_;
  pid_t pid_ = 0;
  bool launched_ = false;
  int pidfd_ = -1;
  uint64_t bias_ = 0;
  std::unique_ptr<ProcessMemory> memory_;
  std::optional<EventDecoder> decoder_;
  EventSink* sink_ = nullptr;
  SnapshotDiff diff_;
  uint64_t next_ns_ = 0;
  uint64_t last_time_ = 0;
  int failed_in_a_row_ = 0;
  BackendStats stats_;
  std::optional<TargetExit> exit_;
  std::atomic<bool> stop_{false};
};

}  // namespace gorepro::tracer
