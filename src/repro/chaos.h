// ChaosPlan / ChaosPerturber: the schedule perturbation of one `gorepro repro` run, drawn from
// its seed in the manner of rr's chaos mode — random holds of threads at the stops the tracer
// already makes, with per-run intensities, plus a per-run GOMAXPROCS and CPU affinity.
// docs/repro.md says why this and not PCT.
//
// Invariants: the plan is a pure function of (seed, CPUs on the machine); each hold decision is
// a pure function of (seed, stop kind, the goroutine's identity, how many such stops that
// goroutine had before), not of the order in which threads reach their stops, so a rerun with the
// same seed makes the same decisions for the goroutines it meets the same way. A goroutine's
// identity is "the k-th goroutine created at go statement X" — not its goid, which the runtime
// hands out from per-P caches and so differs between runs. A run after a wakeup is keyed by where
// the goroutine woke from — its wait reason and who woke it — and how often it woke from there
// before, not by its count of runs overall, which timer wakeups and preemptions shift. A run's holds add up to at
// most ChaosPlan::budget_ns, so a busy program is slowed by a bounded amount.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "replay/event.h"
#include "tracer/backend.h"

namespace gorepro::repro {

// The stops a hold can be made at, and what holding there delays.
enum class HoldAt : uint8_t {
  kCreate,    // the parent, just after it created a goroutine (the child gets a head start)
  kFirstRun,  // a new goroutine about to run for the first time
  kRun,       // a goroutine about to run again
  kPark,      // a goroutine's thread just after it blocked (the next goroutine on that P waits)
  kReady,     // a wakeup, before it takes effect (reorders wakeups)
  kExit,      // a goroutine's thread just after it finished
};
inline constexpr size_t kHoldKinds = 6;
const char* hold_at_name(HoldAt at);

struct ChaosPlan {
  uint64_t seed = 0;
  int gomaxprocs = 0;                    // 0: the program's default (one per CPU it may use)
  std::vector<int> cpus;                 // empty: every CPU gorepro may use
  std::array<double, kHoldKinds> chance{};  // per kind: probability that an event is held
  uint64_t min_hold_ns = 20'000;         // holds are log-uniform in [min_hold_ns, max_hold_ns]
  uint64_t max_hold_ns = 0;
  uint64_t budget_ns = 2'000'000'000;    // at most this much holding per run
  // Partner holds: the chance that a hold of a goroutine about to run again after a wakeup lasts
  // until its partner — the goroutine that created it, or the one that
  // last woke it — has parked `partner_parks` more times, rather than a drawn time: the race
  // the hold stands for is then decided the same way however fast the machine is today.
  // partner_cap_ns bounds such a hold (the partner may be waiting for the held goroutine). A
  // held first run whose creator is known is always a partner hold (unless GOMAXPROCS is 1): a
  // timed hold there decided a race only as often as the machine's speed that minute allowed.
  double partner_chance = 0;
  uint32_t partner_parks = 1;
  uint64_t partner_cap_ns = 50'000'000;

  // The plan of one run. `machine_cpus`: the CPUs gorepro may use (sched_getaffinity).
  static ChaosPlan from_seed(uint64_t seed, const std::vector<int>& machine_cpus);
  // "GOMAXPROCS=2, CPUs 0-1, holds: first-run 50% ..." for --verbose and the report.
  std::string describe() const;
};

class ChaosPerturber final : public tracer::Perturber {
 public:
  explicit ChaosPerturber(const ChaosPlan& plan) : plan_(plan) {}
  uint64_t hold_ns(const replay::Event& event) override;
  bool hold_over(uint64_t hold) override;
  uint64_t holds() const { return holds_; }
  uint64_t held_ns() const { return held_ns_; }

 private:
  // The identity of a goroutine (see above); goids never seen created stand for themselves.
  uint64_t identity(uint64_t goid) const;

  ChaosPlan plan_;
  std::unordered_map<uint64_t, uint64_t> identity_;       // goid → identity, from its create event
  std::unordered_map<uint64_t, uint64_t> created_at_;     // creation PC → goroutines created there
  // identity → stops of each kind seen so far (the ordinal that keys each decision).
  std::unordered_map<uint64_t, std::array<uint32_t, kHoldKinds>> seen_;
  // (identity, wait reason, waker's identity) → runs after such wakeups so far: the ordinal of
  // a run hold.
  std::unordered_map<uint64_t, uint32_t> woke_from_;
  std::unordered_map<uint64_t, uint32_t> park_reason_;  // goid → wait reason of its last park
  // Partner holds still on, by hold number. No chains: a goroutine a partner hold waits on is not
  // partner-held itself, and no partner hold waits on a held goroutine — such a hold could end
  // only at its cap, a time again, and which of two capped holds ended first decided the race.
  struct PartnerHold {
    uint64_t held = 0;         // the goroutine held
    uint64_t partner = 0;      // the goroutine whose parks end it
    uint64_t parks = 0;        // the partner's park count that ends it
    uint64_t deadline_ns = 0;  // its cap runs out then (the backend releases it; we are not told)
  };
  std::unordered_map<uint64_t, PartnerHold> partner_holds_;
  std::unordered_map<uint64_t, uint64_t> parent_;  // goid → the goroutine that created it
  std::unordered_map<uint64_t, uint64_t> waker_;   // goid → the goroutine that last woke it
  std::unordered_map<uint64_t, uint64_t> parks_;   // goid → its parks and exits so far
  std::unordered_set<uint64_t> exited_;            // goids that have exited (and not been reused)
  uint64_t holds_ = 0;
  uint64_t held_ns_ = 0;
};

// splitmix64: the one mixing function behind seeds and decisions.
uint64_t mix(uint64_t x);
// The seed of run `index` (0-based) of a session that started from `base`.
uint64_t run_seed(uint64_t base, uint64_t index);

}  // namespace gorepro::repro
