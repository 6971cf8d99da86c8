// TraceFacts: what a Predicate is held against for a recorded trace — one pass over its events
// up to a point (the end by default) computes, for the program's goroutines (never the
// runtime's): the table at that point (alive goroutines, their states and wait reasons), how
// many each go statement created, the peak number alive at any instant, and each go statement's
// fastest net growth over one second (measured at each of its changes). `check --fail-if` and
// tests use it over a trace; `record --until` feeds it each event as it is recorded (add()), so
// a live recording answers the same questions the same way.
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
  void on_state_change(GoroutineTable::StateObserver observer) { table_.set_state_observer(std::move(observer)); }

 private:
  struct Site {
    SourceFrame frame;           // the go statement
    std::string start_function;
    bool runtime = false;
    uint64_t created = 0;
    int64_t alive = 0;
    double max_growth = 0;       // per second
    std::vector<std::pair<uint64_t, int64_t>> recent;  // (time, alive) over the last second
  };
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
};

}  // namespace gorepro::replay
