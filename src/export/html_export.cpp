#include "export/html_export.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <filesystem>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "export/goroutine_stacks.h"
#include "export/html_assets.h"
#include "replay/frame_json.h"
#include "replay/growth.h"
#include "replay/leak_report.h"
#include "replay/schedtrace.h"
#include "replay/trace_facts.h"
#include "util/markup.h"

namespace gorepro::exporting {
namespace {

using nlohmann::json;

constexpr size_t kTopSites = 12;             // charted apart; the rest as one "other" series
constexpr size_t kTimelinesPerGroup = 3;
constexpr size_t kTimelineGroups = 50;
constexpr size_t kTimelineChanges = 400;     // per goroutine: the last ones kept

// Seconds, rounded to the microsecond so that the JSON spells them short.
double seconds(uint64_t ns) { return std::round(static_cast<double>(ns) / 1e3) / 1e6; }

// Time buckets of equal length over [0, span]: each charted point is a count as of a bucket's end.
struct Buckets {
  uint64_t start = 0, span = 0;
  size_t n = kChartPoints;
  size_t of(uint64_t t) const {
    if (span == 0 || t <= start) return 0;
    const auto b = static_cast<size_t>(static_cast<long double>(t - start) * n / span);
    return std::min(b, n - 1);
  }
  uint64_t end_of(size_t b) const { return static_cast<uint64_t>(static_cast<long double>(span) * (b + 1) / n); }
};

// A count sampled at bucket ends: the changes (bucket, value as of its end), expanded on output.
struct Sampled {
  std::vector<std::pair<size_t, int64_t>> changes;
  void set(size_t bucket, int64_t v) {
    if (!changes.empty() && changes.back().first == bucket) changes.back().second = v;
    else changes.emplace_back(bucket, v);
  }
  std::vector<int64_t> expand(size_t n) const {
    std::vector<int64_t> out(n, 0);
    int64_t v = 0;
    size_t i = 0;
    for (size_t b = 0; b < n; b++) {
      while (i < changes.size() && changes[i].first == b) v = changes[i++].second;
      out[b] = v;
    }
    return out;
  }
};

struct FlameNode {
  uint64_t value = 0;
  std::map<std::string, FlameNode> children;
  json to_json(const std::string& name) const {
    json j = {{"n", name}, {"v", value}};
    if (!children.empty()) {
      json c = json::array();
      std::vector<std::pair<const std::string*, const FlameNode*>> sorted;
      for (const auto& [k, child] : children) sorted.emplace_back(&k, &child);
      std::stable_sort(sorted.begin(), sorted.end(), [](auto a, auto b) { return a.second->value > b.second->value; });
      for (auto [k, child] : sorted) c.push_back(child->to_json(*k));
      j["c"] = std::move(c);
    }
    return j;
  }
};

json flame_tree(const GoroutineStacks& stacks, const replay::TraceSymbols& symbols) {
  FlameNode root;
  for (const StackGroup& g : stacks.groups) {
    root.value += g.goroutines;
    FlameNode* node = &root;
    auto frames = group_frames(g, symbols);
    for (auto it = frames.rbegin(); it != frames.rend(); ++it) {
      node = &node->children[it->function];
      node->value += g.goroutines;
    }
  }
  return root.to_json("all goroutines");
}

// "main.go:42 (main.main)", as `correlate` names a site; the raw PC without symbols.
std::string site_label(const SourceFrame& site, uint64_t gopc) {
  if (site.file.empty()) return fmt::format("{:#x}", gopc);
  return fmt::format("{}:{} ({})", std::filesystem::path(site.file).filename().string(), site.line, site.function);
}

std::string state_label(const replay::Goroutine* g, const replay::TraceHeader& header) {
  if (!g || g->state == replay::GoState::Dead) return "exited";
  if (g->state == replay::GoState::Waiting) return "waiting: " + header.wait_reason_name(g->wait_reason);
  return std::string(replay::go_state_name(g->state));
}


}  // namespace

Status write_html(replay::TraceSession& session, uint64_t now_ns, bool include_runtime, std::FILE* out) {
  if (!html_assets_built())
    return make_error("this gorepro was built without the HTML report's chart libraries (web/node_modules was missing)",
                      "run `npm ci` in web/ (scripts/setup.sh does) and rebuild; the other --format values work as they are");
  const replay::TraceReader& reader = session.reader();
  const replay::TraceSymbols& symbols = session.symbols();
  const replay::GoroutineTable& table = session.replayer().table();
  const uint64_t position = session.replayer().position();

  replay::ReportOptions ropts;
  ropts.include_runtime = include_runtime;
  auto report = replay::build_report(reader, table, symbols, ropts, now_ns);
  if (!report) return report.error();

  // One pass over the events up to the point: per-site live counts, gcount, timelines.
  Buckets buckets;
  buckets.start = reader.start_time_ns();
  buckets.span = report->at_ns;
  std::unordered_map<uint64_t, Sampled> sites;  // by gopc
  std::unordered_map<uint64_t, int64_t> peak;
  Sampled gcount;
  bool has_gcount = false;
  std::unordered_set<uint64_t> wanted;
  for (size_t i = 0; i < report->groups.size() && i < kTimelineGroups; i++) {
    const auto& ids = report->groups[i].goids;
    wanted.insert(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(std::min(ids.size(), kTimelinesPerGroup)));
  }
  struct Timeline {
    std::deque<std::pair<uint64_t, std::string>> changes;
    uint64_t dropped = 0;
  };
  std::unordered_map<uint64_t, Timeline> timelines;
  std::vector<uint64_t> changed;

  replay::TraceFacts facts(symbols, reader.header().wait_reasons);
  uint64_t now_event = 0;
  facts.on_site_change([&](uint64_t gopc, uint64_t, int64_t alive) {
    sites[gopc].set(buckets.of(now_event), alive);
    peak[gopc] = std::max(peak[gopc], alive);
  });
  facts.on_state_change([&](uint64_t goid) {
    if (wanted.count(goid)) changed.push_back(goid);
  });
  replay::Event e;
  for (auto cur = reader.cursor(); cur.position() < position && cur.next(e);) {
    now_event = e.time_ns;
    if (e.kind == replay::EventKind::Sched) {
      auto sample = replay::parse_sched_block(reader.string(e.text));
      if (sample && sample->detailed) {
        gcount.set(buckets.of(e.time_ns), static_cast<int64_t>(sample->live_goroutines()));
        has_gcount = true;
      }
    }
    changed.clear();
    facts.add(e);
    for (uint64_t goid : changed) {
      Timeline& t = timelines[goid];
      std::string label = state_label(facts.table().find(goid), reader.header());
      if (!t.changes.empty() && t.changes.back().second == label) continue;
      t.changes.emplace_back(e.time_ns > buckets.start ? e.time_ns - buckets.start : 0, std::move(label));
      if (t.changes.size() > kTimelineChanges) t.changes.pop_front(), t.dropped++;
    }
  }

  // Chart: the sites with the most goroutines alive at once apart, the rest summed.
  std::vector<uint64_t> order;
  for (const auto& [gopc, s] : sites) order.push_back(gopc);
  std::sort(order.begin(), order.end(), [&](uint64_t a, uint64_t b) { return peak[a] != peak[b] ? peak[a] > peak[b] : a < b; });
  const size_t n = buckets.n;
  json times = json::array();
  for (size_t b = 0; b < n; b++) times.push_back(seconds(buckets.end_of(b)));
  json series = json::array();
  std::vector<std::vector<int64_t>> values;
  std::vector<std::string> labels;
  std::vector<int64_t> other(n, 0), total(n, 0);
  size_t others = 0;
  for (size_t i = 0; i < order.size(); i++) {
    auto v = sites[order[i]].expand(n);
    for (size_t b = 0; b < n; b++) total[b] += v[b];
    if (i >= kTopSites) {
      for (size_t b = 0; b < n; b++) other[b] += v[b];
      others++;
      continue;
    }
    SourceFrame site = symbols.creation_site(order[i]);
    std::string label = site_label(site, order[i]);
    series.push_back({{"site", replay::frame_to_json(site)}, {"label", label}, {"v", v}});
    values.push_back(std::move(v));
    labels.push_back(std::move(label));
  }
  if (others) {
    series.push_back({{"site", nullptr}, {"label", fmt::format("{} other go statements", others)}, {"v", other}});
    values.push_back(other);
    labels.push_back("other");
  }

  // Growth windows over the program's live goroutines, as `correlate` finds them over samples;
  // the window is at least 25 points long so a long trace's coarser points still fit a line.
  std::vector<std::pair<uint64_t, int64_t>> points;
  for (size_t b = 0; b < n; b++) points.emplace_back(buckets.end_of(b), total[b]);
  replay::GrowthOptions gopts;
  gopts.window_ns = std::max<uint64_t>(gopts.window_ns, buckets.span / n * 25);
  json growth = json::array();
  for (const replay::GrowthRange& r : replay::find_growth(points, gopts)) {
    json grown = json::array();
    std::vector<std::pair<int64_t, size_t>> nets;
    for (size_t i = 0; i < values.size(); i++) nets.emplace_back(values[i][r.to - 1] - values[i][r.from], i);
    std::sort(nets.begin(), nets.end(), [](auto a, auto b) { return a.first > b.first; });
    for (auto [net, i] : nets)
      if (net > 0) grown.push_back({{"label", labels[i]}, {"net", net}});
    growth.push_back({{"start_s", seconds(points[r.from].first)},
                      {"end_s", seconds(points[r.to - 1].first)},
                      {"slope_per_s", std::round(r.slope_per_s * 10) / 10},
                      {"r2", std::round(r.r2 * 100) / 100},
                      {"count_start", points[r.from].second},
                      {"count_end", points[r.to - 1].second},
                      {"sites", grown}});
  }

  json gcount_json = nullptr;
  if (has_gcount) {
    json t = json::array(), v = json::array();
    for (auto [b, value] : gcount.changes) t.push_back(seconds(buckets.end_of(b))), v.push_back(value);
    gcount_json = {{"t", t}, {"v", v}};
  }

  json tl = json::object();
  for (auto& [goid, t] : timelines) {
    json changes = json::array();
    for (auto& [time, label] : t.changes) changes.push_back({seconds(time), label});
    tl[std::to_string(goid)] = {{"changes", changes}, {"dropped", t.dropped}};
  }

  json data = {
      {"format", 1},
      {"report", replay::report_to_json(*report)},
      {"chart", {{"t", times}, {"series", series}}},
      {"gcount", gcount_json},
      {"growth", growth},
      {"flame",
       {{"block", flame_tree(collect_stacks(reader, table, symbols, StackKind::Block, include_runtime), symbols)},
        {"creation", flame_tree(collect_stacks(reader, table, symbols, StackKind::Creation, include_runtime), symbols)}}},
      {"timelines", tl},
  };
  // '<' appears in JSON only inside strings, where \u003c is the same character: nothing in the
  // data can close the <script> element it sits in.
  std::string text = data.dump(-1, ' ', false, json::error_handler_t::replace);
  std::string escaped;
  escaped.reserve(text.size());
  for (char c : text) {
    if (c == '<') escaped += "\\u003c";
    else escaped += c;
  }

  const std::string title = xml_escape(std::filesystem::path(report->binary).filename().string());
  fmt::print(out,
             "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
             // No network at view time, enforced by the browser, not only promised.
             "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'; "
             "style-src 'unsafe-inline'; img-src data:\">\n"
             "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
             "<title>gorepro report: {}</title>\n<style>\n{}</style>\n</head>\n<body>\n"
             "<script type=\"application/json\" id=\"gorepro-data\">{}</script>\n<script>\n{}</script>\n</body>\n</html>\n",
             title, html_styles(), escaped, html_scripts());
  if (std::ferror(out)) return make_error("cannot write the HTML report", "check the output file's disk and permissions");
  return Ok{};
}

}  // namespace gorepro::exporting
