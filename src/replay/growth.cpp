#include "replay/growth.h"

#include <algorithm>
#include <tuple>

namespace gorepro::replay {

std::pair<double, double> fit_line(const std::vector<std::pair<uint64_t, int64_t>>& pts, size_t from, size_t to) {
  double n = static_cast<double>(to - from), sx = 0, sy = 0, sxx = 0, sxy = 0, syy = 0;
  const double t0 = static_cast<double>(pts[from].first);
  for (size_t i = from; i < to; i++) {
    double x = (static_cast<double>(pts[i].first) - t0) / 1e9, y = static_cast<double>(pts[i].second);
    sx += x, sy += y, sxx += x * x, sxy += x * y, syy += y * y;
  }
  double vx = n * sxx - sx * sx, vy = n * syy - sy * sy, cov = n * sxy - sx * sy;
  if (vx <= 0) return {0, 0};
  double slope = cov / vx;
  double r2 = vy > 0 ? (cov * cov) / (vx * vy) : 0;
  return {slope, r2};
}

std::vector<GrowthRange> find_growth(const std::vector<std::pair<uint64_t, int64_t>>& series, const GrowthOptions& o) {
  std::vector<GrowthRange> marked;
  for (size_t i = 0, j = 0; i < series.size(); i++) {
    j = std::max(j, i);
    while (j < series.size() && series[j].first - series[i].first <= o.window_ns) j++;
    if (j - i < 3) continue;
    auto [slope, r2] = fit_line(series, i, j);
    if (slope >= o.min_slope && r2 >= o.min_r2 && series[j - 1].second > series[i].second) {
      const bool joins = !marked.empty() &&
                         (i < marked.back().to || series[i].first - series[marked.back().to - 1].first <= o.window_ns / 2);
      if (joins) marked.back().to = std::max(marked.back().to, j);
      else marked.push_back({i, j, 0, 0});
    }
  }
  for (GrowthRange& r : marked) std::tie(r.slope_per_s, r.r2) = fit_line(series, r.from, r.to);
  return marked;
}

}  // namespace gorepro::replay
