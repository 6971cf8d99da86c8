// TraceFacts: what a Predicate is held against for a recorded trace — one pass over its events
// up to a point (the end by default) computes, for the program's goroutines (never the
// runtime's): the table at that point (alive goroutines, their states and wait reasons), how
// many each go statement created, the peak number alive at any instant, and each go statement's
// fastest net growth over one second (measured at each of its changes). `repro`, `check
// --fail-if` and tests use it; live recordings answer the same questions from their own counts.
#pragma once

#include <cstdint>
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

  double value(Quantity quantity, const Selector& selector) const override;
  const GoroutineTable& table() const { return table_; }
  uint64_t peak_live() const { return peak_live_; }

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
  void changed(Site& s, uint64_t time_ns, int64_t delta);
  bool selected(const Site& s, const Selector& sel) const;

  const TraceReader& reader_;
  const TraceSymbols& symbols_;
  GoroutineTable table_;
  std::unordered_map<CreationKey, Site, CreationKeyHash> sites_;
  int64_t live_ = 0;
  uint64_t peak_live_ = 0;
};

}  // namespace gorepro::replay
