#include "replay/trace_facts.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "replay/growth.h"

namespace gorepro::replay {

namespace {
constexpr uint64_t kGrowthWindowNs = 1'000'000'000;

// Waits that end by themselves: never "never woken" (as src/verdict calls them time_io).
bool waits_on_time_or_io(const std::string& reason) {
  return reason == "sleep" || reason == "IO wait" || reason == "timer goroutine (idle)";
}
}

TraceFacts::TraceFacts(const TraceReader& reader, const TraceSymbols& symbols, std::optional<uint64_t> up_to)
    : symbols_(symbols), wait_reasons_(reader.header().wait_reasons) {
  table_.set_state_observer([this](uint64_t goid) { left_state(goid); });
  start_ns_ = reader.start_time_ns(), has_start_ = true;
  sampled_ = reader.snapshots().count > 0;
  Event e;
  for (auto cur = reader.cursor(); (!up_to || cur.position() < *up_to) && cur.next(e);) add(e);
  // The verdicts were taken at the end of the recording: they describe the end only.
  if (reader.verdicts() && (!up_to || *up_to >= reader.event_count())) {
    verdicts_.emplace();
    for (const GoroutineVerdict& g : reader.verdicts()->goroutines) (*verdicts_)[g.goid] = g.verdict;
  }
}

TraceFacts::TraceFacts(const TraceSymbols& symbols, std::vector<std::string> wait_reasons)
    : symbols_(symbols), wait_reasons_(std::move(wait_reasons)) {
  table_.set_state_observer([this](uint64_t goid) { left_state(goid); });
}

void TraceFacts::left_state(uint64_t goid) {
  if (const Goroutine* g = table_.find(goid); g && g->state == GoState::Waiting) {
    auto& places = woken_from_[goid];
    const std::pair<StackId, uint32_t> here{g->block_stack, g->wait_reason}, everywhere{0, UINT32_MAX};
    if (std::find(places.begin(), places.end(), here) == places.end() && (places.empty() || places[0] != everywhere)) {
      if (places.size() < kWakePlaces) places.push_back(here);
      else places.assign(1, everywhere);
    }
  }
  if (state_observer_) state_observer_(goid);
}

void TraceFacts::add(const Event& e) {
  if (!has_start_) start_ns_ = e.time_ns, has_start_ = true;
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
  if (e.kind == EventKind::Exit) woken_from_.erase(e.goid);
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
  auto& series = s.series;
  if (series.size() >= 2 * kSeriesPoints) {
    for (size_t i = 1; i < kSeriesPoints; i++) series[i] = series[2 * i];
    series.resize(kSeriesPoints);
  }
  series.emplace_back(t, s.alive);
}

std::vector<TraceFacts::NeverWoken> TraceFacts::never_woken() const {
  const uint64_t now = table_.time_ns();
  if (sampled_ || !has_start_ || now <= start_ns_) return {};
  using Place = std::tuple<uint64_t, uint64_t, StackId, uint32_t>;  // gopc, start pc, block stack, reason
  struct Blocked {
    std::vector<uint64_t> goids;
    bool woken = false;
  };
  std::map<Place, Blocked> places;
  for (const auto& [goid, g] : table_.goroutines()) {
    if (g.state != GoState::Waiting || g.placeholder) continue;
    auto site = sites_.find(CreationKey{g.gopc, g.start_pc});
    if (site == sites_.end() || site->second.runtime) continue;
    const std::string reason = g.wait_reason < wait_reasons_.size() ? wait_reasons_[g.wait_reason] : "";
    if (waits_on_time_or_io(reason)) continue;
    if (verdicts_) {
      if (auto v = verdicts_->find(goid); v != verdicts_->end() && v->second == Verdict::kTimeIo) continue;
    }
    Blocked& b = places[{g.gopc, g.start_pc, g.block_stack, g.wait_reason}];
    b.goids.push_back(goid);
    if (auto w = woken_from_.find(goid); w != woken_from_.end()) {
      for (const auto& p : w->second)
        if (p == std::pair{g.block_stack, g.wait_reason} || p == std::pair<StackId, uint32_t>{0, UINT32_MAX}) b.woken = true;
    }
  }
  // The go statement's steadiest big rise: windows of a quarter of the recording.
  const uint64_t quarter = (now - start_ns_) / 4;
  GrowthOptions o;
  o.window_ns = quarter;
  o.min_slope = static_cast<double>(kNeverWokenMin) / (static_cast<double>(quarter) / 1e9);
  o.min_r2 = 0.6;
  std::vector<NeverWoken> out;
  for (auto& [place, b] : places) {
    if (b.woken || static_cast<int64_t>(b.goids.size()) < kNeverWokenMin) continue;
    const auto& [gopc, start_pc, stack, reason] = place;
    const auto& series = sites_.at(CreationKey{gopc, start_pc}).series;
    std::optional<NeverWoken> best;
    for (const GrowthRange& r : find_growth(series, o)) {
      const auto& [t0, n0] = series[r.from];
      const auto& [t1, n1] = series[r.to - 1];
      if (t1 - t0 < quarter || n1 - n0 < kNeverWokenMin) continue;
      if (!best || n1 - n0 > best->alive_to - best->alive_from)
        best = NeverWoken{{gopc, start_pc}, stack, reason, {}, n0, n1, t0 - std::min(t0, start_ns_), t1 - std::min(t1, start_ns_)};
    }
    if (!best) continue;
    std::sort(b.goids.begin(), b.goids.end());
    best->goids = std::move(b.goids);
    out.push_back(std::move(*best));
  }
  return out;
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
    case Quantity::kNeverWoken: {
      double n = 0;
      for (const NeverWoken& w : never_woken()) {
        const std::string reason = w.wait_reason < wait_reasons_.size() ? wait_reasons_[w.wait_reason] : "";
        if (selected(sites_.at(w.site), sel) && (sel.reason.empty() || sel.reason == reason))
          n += static_cast<double>(w.goids.size());
      }
      return n;
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
