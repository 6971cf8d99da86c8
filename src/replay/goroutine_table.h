// GoroutineTable: every goroutine's state as of some event, built by applying events in order.
// Semantics (docs/trace-format.md has the table): create/ready → runnable, park → waiting,
// exit → dead, preexisting → the recorded state; a goroutine seen acting on a thread (parking,
// creating, waking, exiting) was running, and whichever goroutine the table last saw running on
// that thread is then no longer running there (it was preempted: runnable).
// Invariants: an event about an unknown goid never fails — it makes a placeholder entry; goid 0
// (no goroutine, e.g. the scheduler's g0) is never entered.
// Dead goroutines are dropped unless keep_dead is set: a long churn trace creates millions of
// them, and what reports need from them (how many each site created) is counted per site.
// Symbolized fields (creation site, start function, block site) are derived on demand from the
// PCs here by TraceSymbols, so that applying an event never touches the binary.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <unordered_map>
#include <vector>

#include "replay/event.h"

namespace gorepro::replay {

struct Goroutine {
  uint64_t goid = 0;
  uint64_t parent = 0;           // 0 = unknown
  uint64_t gopc = 0;             // return address of the go statement
  uint64_t start_pc = 0;
  StackId creation_stack = 0;
  StackId block_stack = 0;       // while waiting
  GoState state = GoState::Unknown;
  uint32_t wait_reason = 0;      // while waiting
  uint64_t blocking_object = 0;  // while waiting
  uint64_t state_since_ns = 0;   // when it entered its current state
  uint64_t created_ns = 0;       // create event time (recording start for preexisting ones)
  bool preexisting = false;      // alive when recording began
  bool placeholder = false;      // first seen in an event other than create/preexisting
  uint32_t labels = 0;           // its pprof labels: a TraceReader::labels() id, 0 = none seen

  bool operator==(const Goroutine&) const = default;
};

// Goroutines per creation site: the identity of a `go` statement and what it starts.
struct CreationKey {
  uint64_t gopc = 0;
  uint64_t start_pc = 0;
  bool operator==(const CreationKey&) const = default;
};
struct CreationKeyHash {
  size_t operator()(const CreationKey& k) const { return std::hash<uint64_t>{}(k.gopc * 31 + k.start_pc); }
};

class GoroutineTable {
 public:
  explicit GoroutineTable(bool keep_dead = false) : keep_dead_(keep_dead) {}

  void apply(const Event& e);

  // Called with a goroutine's goid whenever apply() changes its state (before apply() has set
  // the fields that go with the new state). For a consumer of every state change (`export
  // --format perfetto`), which reads the goroutine once apply() returns: the goroutine that was
  // running on the event's thread changes too, and only the table knows which one that was.
  using StateObserver = std::function<void(uint64_t goid)>;
  void set_state_observer(StateObserver observer) { observer_ = std::move(observer); }

  const Goroutine* find(uint64_t goid) const;
  // How a goroutine alive here was created; nullopt if unknown or seen only as a placeholder.
  std::optional<CreationKey> creation_of(uint64_t goid) const {
    const Goroutine* g = find(goid);
    if (!g || g->placeholder) return std::nullopt;
    return CreationKey{g->gopc, g->start_pc};
  }
  // Every goroutine in the table (alive ones, plus dead ones when keep_dead).
  const std::unordered_map<uint64_t, Goroutine>& goroutines() const { return goroutines_; }
  // How many goroutines each (gopc, start pc) created, including preexisting ones; never shrinks.
  const std::unordered_map<CreationKey, uint64_t, CreationKeyHash>& created_by_site() const { return created_; }
  uint64_t events_applied() const { return applied_; }  // = seq of the next event to apply
  uint64_t time_ns() const { return time_ns_; }          // of the last applied event
  uint64_t dead_count() const { return dead_; }

 private:
  Goroutine& entry(uint64_t goid, GoState placeholder_state, uint64_t time);
  void set_state(Goroutine& g, GoState s, uint64_t time);
  // g acted on thread tid at this event: it was running, and the previous one there was not.
  Goroutine* acted(uint64_t goid, uint32_t tid, const Event& e);

  bool keep_dead_;
  StateObserver observer_;
  std::unordered_map<uint64_t, Goroutine> goroutines_;
  // tid → the goroutine last seen running there. A process has a few threads: a linear search
  // of a vector beats a hash map here, whose bucket division dominated apply().
  class ThreadSlots {
   public:
    using iterator = std::vector<std::pair<uint32_t, uint64_t>>::iterator;
    iterator begin() { return slots_.begin(); }
    iterator end() { return slots_.end(); }
    iterator find(uint32_t tid) {
      return std::find_if(slots_.begin(), slots_.end(), [&](const auto& s) { return s.first == tid; });
    }
    std::pair<iterator, bool> try_emplace(uint32_t tid, uint64_t goid) {
      if (auto it = find(tid); it != end()) return {it, false};
      slots_.emplace_back(tid, goid);
      return {slots_.end() - 1, true};
    }
    void erase(iterator it) {
      *it = slots_.back();
      slots_.pop_back();
    }
    void erase(uint32_t tid) {
      if (auto it = find(tid); it != end()) erase(it);
    }

   private:
    std::vector<std::pair<uint32_t, uint64_t>> slots_;
  };
  ThreadSlots running_on_tid_;
  std::unordered_map<CreationKey, uint64_t, CreationKeyHash> created_;
  uint64_t applied_ = 0;
  uint64_t time_ns_ = 0;
  uint64_t dead_ = 0;
};

}  // namespace gorepro::replay
