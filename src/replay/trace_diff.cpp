#include "replay/trace_diff.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "replay/frame_json.h"
#include "replay/trace_session.h"

namespace gorepro::replay {

std::vector<const SiteChange*> TraceDiff::grown(int64_t threshold) const {
  std::vector<const SiteChange*> out;
  for (const auto& s : sites)
    if (s.alive_change() > threshold) out.push_back(&s);
  return out;
}

TraceDiff diff_site_counts(const SiteCounts& before, const SiteCounts& after) {
  std::map<std::string, SiteChange> by_site;
  auto add = [&](const SiteCount& c, bool is_after) {
    auto [it, inserted] = by_site.try_emplace(site_identity(c.site));
    SiteChange& s = it->second;
    if (inserted || is_after) s.site = c.site, s.start_function = c.start_function;
    (is_after ? s.created_after : s.created_before) = c.created;
    (is_after ? s.alive_after : s.alive_before) = c.alive;
  };
  for (const auto& c : before.sites) add(c, false);
  for (const auto& c : after.sites) add(c, true);
  TraceDiff d;
  for (auto& [id, s] : by_site) d.sites.push_back(std::move(s));
  std::stable_sort(d.sites.begin(), d.sites.end(), [](const SiteChange& a, const SiteChange& b) {
    return a.alive_change() != b.alive_change() ? a.alive_change() > b.alive_change()
                                                : a.created_change() > b.created_change();
  });
  for (const auto& c : before.sites) d.before.alive += c.alive;
  for (const auto& c : after.sites) d.after.alive += c.alive;
  d.before.hidden_runtime = before.hidden_runtime;
  d.after.hidden_runtime = after.hidden_runtime;
  return d;
}

Result<TraceDiff> diff_traces(const std::string& before, const std::string& after, bool include_runtime,
                              std::vector<std::string>& warnings) {
  SiteCounts counts[2];
  TraceDiff::Side sides[2];
  const std::string* paths[2] = {&before, &after};
  for (int i = 0; i < 2; ++i) {
    auto session = TraceSession::open(*paths[i]);
    if (!session) return session.error();
    for (const auto& w : (*session)->warnings()) warnings.push_back(fmt::format("{}: {}", *paths[i], w));
    (*session)->replayer().run_to_end();
    counts[i] = count_sites((*session)->replayer().table(), (*session)->symbols(), include_runtime);
    sides[i].path = *paths[i];
    sides[i].events = (*session)->reader().event_count();
    sides[i].symbolic = (*session)->symbols().symbolic();
  }
  if (sides[0].symbolic != sides[1].symbolic)
    warnings.push_back("only one trace has symbols: its sites are names, the other's raw PCs, so none will match");
  TraceDiff d = diff_site_counts(counts[0], counts[1]);
  for (int i = 0; i < 2; ++i) {
    TraceDiff::Side& s = i ? d.after : d.before;
    sides[i].alive = s.alive, sides[i].hidden_runtime = s.hidden_runtime;
    s = sides[i];
  }
  return d;
}

namespace {

std::string signed_count(int64_t n) { return n > 0 ? fmt::format("+{}", n) : fmt::format("{}", n); }

}  // namespace

std::string format_diff_text(const TraceDiff& d) {
  std::string out;
  for (const auto* s : {&d.before, &d.after})
    out += fmt::format("{} {}: {} events, {} goroutine{} alive at the end{}\n", s == &d.before ? "before" : "after ",
                       s->path, s->events, s->alive, s->alive == 1 ? "" : "s",
                       s->hidden_runtime ? fmt::format(" ({} runtime hidden)", s->hidden_runtime) : "");
  out += fmt::format("\n{:>7} {:>13} {:>15}  {}\n", "alive", "before→after", "created b→a", "go statement");
  for (const auto& s : d.sites)
    out += fmt::format("{:>7} {:>13} {:>15}  {}  starts {}\n", signed_count(s.alive_change()),
                       fmt::format("{}→{}", s.alive_before, s.alive_after),
                       fmt::format("{}→{}", s.created_before, s.created_after), format_frame(s.site),
                       s.start_function);
  auto grew = d.grown(0);
  if (grew.empty()) {
    out += "\nno site has more goroutines alive after than before\n";
  } else {
    out += fmt::format("\n{} site{} grew:\n", grew.size(), grew.size() == 1 ? "" : "s");
    for (const auto* s : grew)
      out += fmt::format("  {} alive  {} ({})\n", signed_count(s->alive_change()), format_site(s->site),
                         s->site.function);
  }
  return out;
}

nlohmann::json diff_to_json(const TraceDiff& d) {
  auto side = [](const TraceDiff::Side& s) {
    return nlohmann::json{{"path", s.path}, {"events", s.events}, {"alive", s.alive},
                          {"hidden_runtime", s.hidden_runtime}, {"symbolized", s.symbolic}};
  };
  auto sites = nlohmann::json::array();
  for (const auto& s : d.sites)
    sites.push_back({{"creation_site", frame_to_json(s.site)},
                     {"start_function", s.start_function},
                     {"before", {{"created", s.created_before}, {"alive", s.alive_before}}},
                     {"after", {{"created", s.created_after}, {"alive", s.alive_after}}},
                     {"change", {{"created", s.created_change()}, {"alive", s.alive_change()}}}});
  return {{"before", side(d.before)}, {"after", side(d.after)}, {"sites", sites}};
}

}  // namespace gorepro::replay
