// Growth windows: where a count over time (live goroutines) rises steadily. A window of fixed
// length slides over the points; where the least-squares line through it climbs at least
// min_slope per second with r² at least min_r2 (a steady rise, not a spike), the points are
// marked, and marked stretches less than half a window apart are joined into one window (a rise
// interrupted by a stretch too noisy to fit is one rise). `correlate` runs it over the
// schedtrace samples; `export --format html` over the live goroutines it charts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace gorepro::replay {

struct GrowthOptions {
  uint64_t window_ns = 500'000'000;  // sliding window of the linear fit
  double min_slope = 5.0;            // goroutines per second
  double min_r2 = 0.6;               // how steady the rise must be
};

struct GrowthRange {
  size_t from = 0, to = 0;  // [from, to) indexes into the points
  double slope_per_s = 0, r2 = 0;  // of the fit over the whole range
};

// points: (time ns, count), ascending in time.
std::vector<GrowthRange> find_growth(const std::vector<std::pair<uint64_t, int64_t>>& points,
                                     const GrowthOptions& options);

// Least-squares slope (per second) and r² of points [from, to).
std::pair<double, double> fit_line(const std::vector<std::pair<uint64_t, int64_t>>& points, size_t from, size_t to);

}  // namespace gorepro::replay
