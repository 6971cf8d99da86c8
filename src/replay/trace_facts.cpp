#include "replay/trace_facts.h"

#include <algorithm>

namespace gorepro::replay {

namespace {
constexpr uint64_t kGrowthWindowNs = 1'000'000'000;
}

TraceFacts::TraceFacts(const TraceReader& reader, const TraceSymbols& symbols, std::optional<uint64_t> up_to)
    : symbols_(symbols), wait_reasons_(reader.header().wait_reasons) {
  Event e;
  for (auto cur = reader.cursor(); (!up_to || cur.position() < *up_to) && cur.next(e);) add(e);
  // The verdicts were taken at the end of the recording: they describe the end only.
  if (reader.verdicts() && (!up_to || *up_to >= reader.event_count())) {
    verdicts_.emplace();
    for (const GoroutineVerdict& g : reader.verdicts()->goroutines) (*verdicts_)[g.goid] = g.verdict;
  }
}

TraceFacts::TraceFacts(const TraceSymbols& symbols, std::vector<std::string> wait_reasons)
    : symbols_(symbols), wait_reasons_(std::move(wait_reasons)) {}

void TraceFacts::add(const Event& e) {
  if (e.kind == EventKind::Create || e.kind == EventKind::Preexisting) {
    Site& s = site(CreationKey{e.pc, e.start_pc});
    s.created++;
    if (!s.runtime) changed(s, e.pc, e.time_ns, +1);
  } else if (e.kind == EventKind::Exit) {
    if (auto key = table_.creation_of(e.goid)) {
      Site& s = site(*key);
      if (!s.runtime && table_.find(e.goid)->state != GoState::Dead) changed(s, key->gopc, e.time_ns, -1);
    }
  }
  table_.apply(e);
}

TraceFacts::Site& TraceFacts::site(const CreationKey& key) {
  auto [it, fresh] = sites_.try_emplace(key);
  if (fresh) {
    it->second.frame = symbols_.creation_site(key.gopc);
    it->second.start_function = symbols_.function_at(key.start_pc);
    it->second.runtime = symbols_.is_runtime_goroutine(it->second.frame, it->second.start_function);
  }
  return it->second;
}

void TraceFacts::changed(Site& s, uint64_t gopc, uint64_t t, int64_t delta) {
  s.alive += delta;
  if (on_change_) on_change_(gopc, t, s.alive);
  live_ += delta;
  peak_live_ = std::max<uint64_t>(peak_live_, static_cast<uint64_t>(std::max<int64_t>(live_, 0)));
  // Net growth over the second ending now: alive now minus alive one second ago (the last
  // change at or before then; before the first change the site had none alive).
  // The changes before the last one at or before `since` no longer matter; they are dropped in
  // bulk once they are half the window, so a change costs a binary search, not a shift of the
  // whole window (that shift was 68% of `export --format html` on a 1 M-event trace).
  auto& r = s.recent;
  const uint64_t since = t >= kGrowthWindowNs ? t - kGrowthWindowNs : 0;
  auto after = std::upper_bound(r.begin(), r.end(), since, [](uint64_t x, const auto& c) { return x < c.first; });
  const size_t last = after == r.begin() ? 0 : static_cast<size_t>(after - r.begin()) - 1;
  const int64_t before = !r.empty() && r[last].first <= since ? r[last].second : 0;
  s.max_growth = std::max(s.max_growth, static_cast<double>(s.alive - before));
  if (last > r.size() / 2) r.erase(r.begin(), r.begin() + static_cast<std::ptrdiff_t>(last));
  r.emplace_back(t, s.alive);
}

bool TraceFacts::selected(const Site& s, const Selector& sel) const {
  if (s.runtime) return false;
  if (sel.site && !sel.site->matches(s.frame) && !sel.site->matches_function(s.start_function)) return false;
  return true;
}

std::vector<TraceFacts::SiteCount> TraceFacts::site_counts() const {
  std::vector<SiteCount> out;
  std::unordered_map<CreationKey, size_t, CreationKeyHash> index;
  for (const auto& [key, s] : sites_) {
    if (s.runtime) continue;
    index.emplace(key, out.size());
    out.push_back(SiteCount{s.frame, s.start_function, s.created, {}});
  }
  for (const auto& [goid, g] : table_.goroutines()) {
    if (g.state == GoState::Dead) continue;
    auto it = index.find(CreationKey{g.gopc, g.start_pc});
    if (it == index.end()) continue;
    std::string reason;
    if (g.state == GoState::Waiting) {
      reason = g.wait_reason < wait_reasons_.size() ? wait_reasons_[g.wait_reason] : std::to_string(g.wait_reason);
    }
    out[it->second].alive[{g.state, reason}]++;
  }
  return out;
}

double TraceFacts::value(Quantity q, const Selector& sel) const {
  switch (q) {
    case Quantity::kLive: return static_cast<double>(peak_live_);
    case Quantity::kCreated:
    case Quantity::kGrowth: {
      double v = 0;
      for (const auto& [key, s] : sites_) {
        if (!selected(s, sel)) continue;
        v = q == Quantity::kCreated ? v + static_cast<double>(s.created) : std::max(v, s.max_growth);
      }
      return v;
    }
    case Quantity::kLeaked:
    case Quantity::kAlive:
      break;
  }
  // Per goroutine alive at the point: its site, state and wait reason.
  double n = 0;
  const auto& reasons = wait_reasons_;
  for (const auto& [goid, g] : table_.goroutines()) {
    if (g.state == GoState::Dead) continue;
    auto it = sites_.find(CreationKey{g.gopc, g.start_pc});
    if (it == sites_.end() || !selected(it->second, sel)) continue;  // placeholders: creation unknown
    const bool waiting = g.state == GoState::Waiting;
    if (q == Quantity::kLeaked && !waiting) continue;
    if (q == Quantity::kLeaked && verdicts_) {  // only those that can never wake
      auto v = verdicts_->find(goid);
      if (v != verdicts_->end() && v->second != Verdict::kLeaked) continue;
    }
    if (!sel.reason.empty()) {
      if (!waiting || g.wait_reason >= reasons.size() || reasons[g.wait_reason] != sel.reason) continue;
    }
    n++;
  }
  return n;
}

}  // namespace gorepro::replay
