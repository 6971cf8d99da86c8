#include "replay/site_counts.h"

#include <algorithm>
#include <map>
#include <string_view>

#include <fmt/format.h>

namespace gorepro::replay {

std::string site_identity(const SourceFrame& site) {
  if (site.file.empty()) return site.function;
  const size_t slash = site.file.rfind('/');
  const std::string_view base = std::string_view(site.file).substr(slash == std::string::npos ? 0 : slash + 1);
  return fmt::format("{} {}:{}", site.function, base, site.line);
}

SiteCounts count_sites(const GoroutineTable& table, const TraceSymbols& symbols, bool include_runtime) {
  std::map<std::string, SiteCount> by_site;
  auto slot = [&](const CreationKey& k) -> SiteCount* {
    SourceFrame site = symbols.creation_site(k.gopc);
    std::string start = symbols.function_at(k.start_pc);
    if (!include_runtime && symbols.is_runtime_goroutine(site, start)) return nullptr;
    auto [it, inserted] = by_site.try_emplace(site_identity(site));
    SiteCount& c = it->second;
    if (inserted || start < c.start_function) c.start_function = start;
    if (inserted) c.site = std::move(site);
    return &c;
  };
  SiteCounts out;
  for (const auto& [key, n] : table.created_by_site())
    if (SiteCount* c = slot(key)) c->created += n;
  // hidden_runtime counts alive goroutines, as `report` does.
  for (const auto& [goid, g] : table.goroutines()) {
    if (g.state == GoState::Dead) continue;
    if (SiteCount* c = slot({g.gopc, g.start_pc}))
      ++c->alive;
    else
      ++out.hidden_runtime;
  }
  for (auto& [id, c] : by_site) {
    c.created = std::max(c.created, c.alive);  // placeholders: alive but never seen created
    out.sites.push_back(std::move(c));
  }
  std::stable_sort(out.sites.begin(), out.sites.end(), [](const SiteCount& a, const SiteCount& b) {
    return a.alive != b.alive ? a.alive > b.alive : a.created > b.created;
  });
  return out;
}

}  // namespace gorepro::replay
