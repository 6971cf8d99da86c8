// TraceDiff: two traces compared go statement by go statement — created and alive counts at the
// end of each, and the change — for "does this change leak" checks (`gorepro diff`). Sites are
// matched by function + file name + line (site_identity), so two builds of a program compare
// even though every address moved and the source sat in another directory; a matched site is
// shown as AFTER names it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "replay/site_counts.h"
#include "util/result.h"

namespace gorepro::replay {

struct SiteChange {
  SourceFrame site;
  std::string start_function;
  uint64_t created_before = 0, alive_before = 0;
  uint64_t created_after = 0, alive_after = 0;

  int64_t created_change() const { return static_cast<int64_t>(created_after - created_before); }
  int64_t alive_change() const { return static_cast<int64_t>(alive_after - alive_before); }
};

struct TraceDiff {
  struct Side {
    std::string path;
    uint64_t events = 0;
    uint64_t alive = 0;           // shown goroutines alive at the end
    uint64_t hidden_runtime = 0;  // runtime goroutines alive at the end, not compared
    bool symbolic = true;
  };
  Side before, after;
  std::vector<SiteChange> sites;  // by alive change, then created change (descending), then site

  // Sites whose alive count grew by more than `threshold`.
  std::vector<const SiteChange*> grown(int64_t threshold) const;
};

TraceDiff diff_site_counts(const SiteCounts& before, const SiteCounts& after);
// Opens and replays both traces to their ends. Warnings (raw PCs, truncation) name the trace.
Result<TraceDiff> diff_traces(const std::string& before, const std::string& after, bool include_runtime,
                              std::vector<std::string>& warnings);

std::string format_diff_text(const TraceDiff& d);
nlohmann::json diff_to_json(const TraceDiff& d);

}  // namespace gorepro::replay
