// TraceFacts: what a Predicate is held against for a recorded trace — one pass over its events
// up to a point (the end by default) computes, for the program's goroutines (never the
// runtime's): the table at that point (alive goroutines, their states and wait reasons), how
// many each go statement created, the peak number alive at any instant, and each go statement's
// fastest net growth over one second (measured at each of its changes). `check --fail-if` and
// tests use it over a trace; `record --until` feeds it each event as it is recorded (add()), so
// a live recording answers the same questions the same way.
// It also keeps the history behind "growing and never woken" (never_woken(), docs/verdicts.md):
// where each alive goroutine was ever woken from, and each go statement's alive count over time.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "replay/goroutine_table.h"
#include "replay/predicate.h"
#include "replay/trace_reader.h"
#include "replay/trace_symbols.h"

namespace gorepro::replay {

class TraceFacts final : public PredicateFacts {
 public:
  // Replays events [0, up_to) (all when nullopt).
  TraceFacts(const TraceReader& reader, const TraceSymbols& symbols, std::optional<uint64_t> up_to = std::nullopt);
  // Empty, for a recording in progress: add() each event in the order it is written.
  TraceFacts(const TraceSymbols& symbols, std::vector<std::string> wait_reasons);
  // The table's observer points into this object.
  TraceFacts(const TraceFacts&) = delete;
  TraceFacts& operator=(const TraceFacts&) = delete;
  void add(const Event& e);

  double value(Quantity quantity, const Selector& selector) const override;

  // Per go statement of the program (the runtime's left out): what `record --metrics` serves.
  struct SiteCount {
    SourceFrame frame;           // the go statement
    std::string start_function;
    uint64_t created = 0;        // incl. found at attach
    // Alive now, per (state, wait reason — "" unless waiting).
    std::map<std::pair<GoState, std::string>, uint64_t> alive;
  };
  std::vector<SiteCount> site_counts() const;
  int64_t live() const { return live_; }
  const GoroutineTable& table() const { return table_; }
  uint64_t peak_live() const { return peak_live_; }
  // Called at each change of a program go statement's alive count, after it: its creation PC,
  // the event's time and the count now (what `export --format html` charts).
  void on_site_change(std::function<void(uint64_t gopc, uint64_t time_ns, int64_t alive)> hook) {
    on_change_ = std::move(hook);
  }
  // The table's state observer (GoroutineTable::set_state_observer): every goroutine's states.
  void on_state_change(GoroutineTable::StateObserver observer) { state_observer_ = std::move(observer); }

  // "Growing and never woken" — the history's leak signal, for leaks reachability cannot see (a
  // channel a global holds). One entry per place goroutines block at — go statement, block
  // stack, wait reason — where, as of the last event added:
  //   - at least kNeverWokenMin goroutines of the go statement are alive and blocked there, in a
  //     wait that is not on time or I/O (not sleep, IO wait, a timer; with verdicts: not
  //     time_io), and NONE of the alive ones there was ever woken from there (no ready, no return
  //     to running, since it first parked at that place);
  //   - the go statement's alive count grew across the recording: find_growth() finds a steady
  //     rise (r² >= 0.6 over windows of a quarter of the recording) by at least kNeverWokenMin
  //     goroutines per quarter, spanning at least a quarter of the recording.
  // Empty for a sampled trace (record --snapshot): a wake between two snapshots is not seen.
  static constexpr int64_t kNeverWokenMin = 4;
  struct NeverWoken {
    CreationKey site;
    StackId block_stack = 0;
    uint32_t wait_reason = 0;
    std::vector<uint64_t> goids;  // ascending
    // The go statement's rise: alive counts at its start and end, times since the trace's start.
    int64_t alive_from = 0, alive_to = 0;
    uint64_t from_ns = 0, to_ns = 0;
  };
  std::vector<NeverWoken> never_woken() const;

 private:
  struct Site {
    SourceFrame frame;           // the go statement
    std::string start_function;
    bool runtime = false;
    uint64_t created = 0;
    int64_t alive = 0;
    double max_growth = 0;       // per second
    std::vector<std::pair<uint64_t, int64_t>> recent;  // (time, alive) over the last second
    // (time, alive) at each change since the start, thinned to every other point whenever it
    // reaches 2 * kSeriesPoints: bounded memory, the shape kept for find_growth().
    std::vector<std::pair<uint64_t, int64_t>> series;
  };
  static constexpr size_t kSeriesPoints = 1024;
  // Where a goroutine was woken from: (block stack, wait reason) of the parks it left, at most
  // kWakePlaces; one woken from more places counts as woken from everywhere ({0, UINT32_MAX}).
  static constexpr size_t kWakePlaces = 8;
  void left_state(uint64_t goid);
  Site& site(const CreationKey& key);
  void changed(Site& s, uint64_t gopc, uint64_t time_ns, int64_t delta);
  bool selected(const Site& s, const Selector& sel) const;

  const TraceSymbols& symbols_;
  std::vector<std::string> wait_reasons_;  // the header's, by code
  GoroutineTable table_;
  std::unordered_map<CreationKey, Site, CreationKeyHash> sites_;
  // The trace's leak verdicts, when it has them and the facts reach its end: goid → verdict.
  std::optional<std::unordered_map<uint64_t, Verdict>> verdicts_;
  int64_t live_ = 0;
  uint64_t peak_live_ = 0;
  std::function<void(uint64_t, uint64_t, int64_t)> on_change_;
  GoroutineTable::StateObserver state_observer_;
  std::unordered_map<uint64_t, std::vector<std::pair<StackId, uint32_t>>> woken_from_;  // by goid, alive ones
  uint64_t start_ns_ = 0;  // the trace's start (a live recording: its first event)
  bool has_start_ = false;
  bool sampled_ = false;
};

}  // namespace gorepro::replay
