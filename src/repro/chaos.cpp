#include "repro/chaos.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace gorepro::repro {

namespace {

// A uniform double in [0, 1) from a hash.
double unit(uint64_t h) { return static_cast<double>(h >> 11) * 0x1.0p-53; }

// The intensities a run picks from: most runs hold rarely at a kind, some often. Small values
// keep busy programs moving; the large ones force the rare interleavings of small programs.
constexpr double kChances[] = {0.0, 0.02, 0.1, 0.3, 0.6};
constexpr uint64_t kMaxHolds[] = {200'000, 1'000'000, 5'000'000, 20'000'000};

}  // namespace

uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

uint64_t run_seed(uint64_t base, uint64_t index) { return mix(base + index) & 0xffffffffull; }

const char* hold_at_name(HoldAt at) {
  switch (at) {
    case HoldAt::kCreate: return "create";
    case HoldAt::kFirstRun: return "first-run";
    case HoldAt::kRun: return "run";
    case HoldAt::kPark: return "park";
    case HoldAt::kReady: return "ready";
    case HoldAt::kExit: return "exit";
  }
  return "?";
}

ChaosPlan ChaosPlan::from_seed(uint64_t seed, const std::vector<int>& machine_cpus) {
  ChaosPlan p;
  p.seed = seed;
  uint64_t h = mix(seed ^ 0x6368616f73ull);  // "chaos"
  auto draw = [&](uint64_t n) {
    h = mix(h);
    return h % n;
  };
  constexpr int kProcs[] = {0, 1, 2, 4};
  p.gomaxprocs = kProcs[draw(4)];
  if (machine_cpus.size() > 1 && draw(3) == 0) p.cpus = {machine_cpus[draw(machine_cpus.size())]};
  for (double& c : p.chance) c = kChances[draw(std::size(kChances))];
  // A new goroutine's first run is where most intermittent leaks are decided (who gets to
  // the channel first): never leave it unperturbed.
  p.chance[static_cast<size_t>(HoldAt::kFirstRun)] = std::max(p.chance[static_cast<size_t>(HoldAt::kFirstRun)], 0.1);
  p.max_hold_ns = kMaxHolds[draw(std::size(kMaxHolds))];
  // With one P, a held goroutine's thread keeps the P: its partner could not run to release it.
  constexpr double kPartnerChances[] = {0.5, 1.0};
  const double partner = kPartnerChances[draw(std::size(kPartnerChances))];
  p.partner_chance = p.gomaxprocs == 1 ? 0 : partner;
  p.partner_parks = static_cast<uint32_t>(1 + draw(3));
  return p;
}

std::string ChaosPlan::describe() const {
  std::string s = gomaxprocs ? fmt::format("GOMAXPROCS={}", gomaxprocs) : "GOMAXPROCS default";
  s += cpus.empty() ? ", every CPU" : fmt::format(", CPU {}", cpus.front());
  s += fmt::format(", holds up to {:.1f} ms at", static_cast<double>(max_hold_ns) / 1e6);
  for (size_t k = 0; k < kHoldKinds; k++) {
    if (chance[k] > 0) s += fmt::format(" {} {:g}%", hold_at_name(static_cast<HoldAt>(k)), chance[k] * 100);
  }
  if (partner_chance > 0) {
    s += fmt::format("; first-run holds and {:g}% of run holds last until the partner parks {} time{}", partner_chance * 100,
                     partner_parks, partner_parks == 1 ? "" : "s");
  }
  return s;
}

uint64_t ChaosPerturber::identity(uint64_t goid) const {
  auto it = identity_.find(goid);
  return it != identity_.end() ? it->second : goid;
}

bool ChaosPerturber::hold_over(uint64_t hold) {
  auto it = partner_holds_.find(hold);
  if (it == partner_holds_.end()) return false;
  // A partner that has exited parks no more: waiting for it would only run out the cap.
  if (parks_[it->second.partner] < it->second.parks && !exited_.count(it->second.partner)) return false;
  partner_holds_.erase(it);
  return true;
}

uint64_t ChaosPerturber::hold_ns(const replay::Event& e) {
  // A goroutine that does something is not held any more (its cap ran out, or it was released).
  const uint64_t actor =
      e.kind == replay::EventKind::Create || e.kind == replay::EventKind::Ready ? e.other_goid : e.goid;
  std::erase_if(partner_holds_, [&](const auto& h) { return h.second.held == actor || e.time_ns >= h.second.deadline_ns; });
  if (e.kind == replay::EventKind::Park || e.kind == replay::EventKind::Exit) parks_[e.goid]++;
  if (e.kind == replay::EventKind::Park) park_reason_[e.goid] = e.wait_reason;
  if (e.kind == replay::EventKind::Exit) exited_.insert(e.goid);
  if (e.kind == replay::EventKind::Create) exited_.erase(e.goid);
  if (e.kind == replay::EventKind::Ready && e.other_goid && e.other_goid != e.goid) waker_[e.goid] = e.other_goid;
  if (e.kind == replay::EventKind::Create) {
    parent_[e.goid] = e.other_goid;
    waker_.erase(e.goid);  // a reused goid: not the old goroutine's
    park_reason_.erase(e.goid);
    // A goid may be reused after its goroutine exits: the latest creation names it.
    identity_[e.goid] = mix(e.pc) ^ (created_at_[e.pc]++ << 20) ^ 0x8000'0000'0000'0000ull;
  }
  HoldAt at;
  switch (e.kind) {
    case replay::EventKind::Create: at = HoldAt::kCreate; break;
    case replay::EventKind::Park: at = HoldAt::kPark; break;
    case replay::EventKind::Ready: at = HoldAt::kReady; break;
    case replay::EventKind::Exit: at = HoldAt::kExit; break;
    case replay::EventKind::State:
      if (e.state != replay::GoState::Running) return 0;
      at = HoldAt::kRun;
      break;
    default: return 0;
  }
  // Create events are about the child; the hold delays the parent, so key it by the parent.
  const uint64_t who = identity(e.kind == replay::EventKind::Create ? e.other_goid : e.goid);
  auto& counts = seen_[who];
  if (at == HoldAt::kRun && counts[static_cast<size_t>(HoldAt::kRun)] == 0 &&
      counts[static_cast<size_t>(HoldAt::kFirstRun)] == 0) {
    at = HoldAt::kFirstRun;
  }
  const auto k = static_cast<size_t>(at);
  uint64_t key = who;
  uint64_t ordinal = counts[k]++;
  if (at == HoldAt::kRun) {
    // Where it woke from: which wakeup of its life this is does not move with the schedule the
    // way its count of runs does (a timer wakeup or a preemption adds runs).
    const auto r = park_reason_.find(e.goid);
    const auto w = waker_.find(e.goid);
    key = mix(who ^ mix((r != park_reason_.end() ? r->second : 0xffff) + 1)) ^
          (w != waker_.end() ? mix(identity(w->second)) : 0);
    ordinal = woke_from_[key]++;
  }
  if (plan_.chance[k] <= 0 || held_ns_ >= plan_.budget_ns) return 0;
  const uint64_t h = mix(mix(mix(plan_.seed) ^ (k + 1)) ^ mix(key) ^ (ordinal << 32));
  if (unit(h) >= plan_.chance[k]) return 0;
  if ((at == HoldAt::kFirstRun || at == HoldAt::kRun) && plan_.partner_chance > 0) {
    const auto& partners = at == HoldAt::kFirstRun ? parent_ : waker_;
    const auto p = partners.find(e.goid);
    if (p != partners.end() && p->second && p->second != e.goid &&
        (at == HoldAt::kFirstRun || unit(mix(h ^ 0x7061)) < plan_.partner_chance)) {
      const bool chained = std::any_of(partner_holds_.begin(), partner_holds_.end(), [&](const auto& h) {
        return h.second.held == p->second || h.second.partner == e.goid;
      });
      if (chained) return 0;
      partner_holds_[holds_] = {e.goid, p->second, parks_[p->second] + plan_.partner_parks,
                                e.time_ns + plan_.partner_cap_ns};
      holds_++;
      held_ns_ += plan_.partner_cap_ns;
      return plan_.partner_cap_ns;
    }
  }
  // Log-uniform: as many short holds (reorderings within a few stops) as long ones (a
  // goroutine overtaken by a timeout).
  const double lo = std::log(static_cast<double>(plan_.min_hold_ns));
  const double hi = std::log(static_cast<double>(std::max(plan_.max_hold_ns, plan_.min_hold_ns)));
  const auto ns = static_cast<uint64_t>(std::exp(lo + (hi - lo) * unit(mix(h))));
  holds_++;
  held_ns_ += ns;
  return ns;
}

}  // namespace gorepro::repro
