// ChaosPlan and ChaosPerturber: what makes a seed replayable — every choice is a function of the
// seed and of what the event is about, never of the order events arrive in.
#include "repro/chaos.h"

#include <gtest/gtest.h>

#include <set>

namespace gorepro::repro {
namespace {

replay::Event first_run(uint64_t goid) {
  replay::Event e;
  e.kind = replay::EventKind::State;
  e.state = replay::GoState::Running;
  e.goid = goid;
  return e;
}

TEST(ChaosPlan, IsAFunctionOfTheSeed) {
  const std::vector<int> cpus = {0, 1};
  for (uint64_t seed : {1ull, 42ull, 3141592ull}) {
    EXPECT_EQ(ChaosPlan::from_seed(seed, cpus).describe(), ChaosPlan::from_seed(seed, cpus).describe());
  }
  std::set<std::string> plans;
  for (uint64_t i = 0; i < 50; i++) plans.insert(ChaosPlan::from_seed(run_seed(7, i), cpus).describe());
  EXPECT_GT(plans.size(), 25u) << "runs of one search should differ";
}

TEST(ChaosPlan, PinsOnlyToCpusItMayUse) {
  for (uint64_t i = 0; i < 100; i++) {
    auto p = ChaosPlan::from_seed(run_seed(1, i), {3, 5});
    for (int c : p.cpus) EXPECT_TRUE(c == 3 || c == 5);
    EXPECT_TRUE(p.gomaxprocs == 0 || p.gomaxprocs == 1 || p.gomaxprocs == 2 || p.gomaxprocs == 4);
  }
  EXPECT_TRUE(ChaosPlan::from_seed(9, {0}).cpus.empty()) << "one CPU: nothing to choose";
}

TEST(ChaosPerturber, DecisionsDoNotDependOnTheOrderGoroutinesArriveIn) {
  const ChaosPlan plan = ChaosPlan::from_seed(12345, {0, 1});
  ChaosPerturber a(plan), b(plan);
  std::vector<uint64_t> forward, backward(64);
  for (uint64_t g = 1; g <= 64; g++) forward.push_back(a.hold_ns(first_run(g)));
  for (uint64_t g = 64; g >= 1; g--) backward[g - 1] = b.hold_ns(first_run(g));
  EXPECT_EQ(forward, backward);
}

TEST(ChaosPerturber, AGoroutineIsKnownByItsGoStatementNotItsGoid) {
  // The runtime hands goids out from per-P caches: a rerun numbers the same goroutines otherwise.
  const ChaosPlan plan = ChaosPlan::from_seed(777, {0, 1});
  ChaosPerturber a(plan), b(plan);
  auto create = [](uint64_t goid) {
    return replay::Event::create(0, 0, /*parent=*/1, goid, /*gopc=*/0x401000, 0x402000, 0);
  };
  std::vector<uint64_t> first, second;
  for (uint64_t i = 0; i < 64; i++) {
    first.push_back(a.hold_ns(create(10 + i)));
    first.push_back(a.hold_ns(first_run(10 + i)));
    second.push_back(b.hold_ns(create(1000 - 7 * i)));
    second.push_back(b.hold_ns(first_run(1000 - 7 * i)));
  }
  EXPECT_EQ(first, second);
}

TEST(ChaosPerturber, HoldsSomeFirstRunsWithinTheBoundsAndTheBudget) {
  ChaosPlan plan = ChaosPlan::from_seed(99, {0, 1});
  plan.budget_ns = 50'000'000;
  ChaosPerturber p(plan);
  uint64_t held = 0, total = 0;
  for (uint64_t g = 1; g <= 2000; g++) {
    const uint64_t ns = p.hold_ns(first_run(g));
    if (ns) {
      held++;
      EXPECT_GE(ns, plan.min_hold_ns);
      EXPECT_LE(ns, plan.max_hold_ns + 1);
    }
    total += ns;
  }
  EXPECT_GT(held, 0u) << "first runs are always perturbed a little";
  EXPECT_LE(total, plan.budget_ns + plan.max_hold_ns) << "the budget ends the holds";
  EXPECT_EQ(p.holds(), held);
}

// A partner hold ends on the partner's parks, not on the clock: the same race is decided the
// same way in a rerun however fast the machine is.
TEST(ChaosPerturber, APartnerHoldEndsWhenTheCreatorHasParkedEnoughTimes) {
  ChaosPlan plan = ChaosPlan::from_seed(5, {0, 1});
  plan.chance[static_cast<size_t>(HoldAt::kFirstRun)] = 1.0;
  plan.chance[static_cast<size_t>(HoldAt::kPark)] = 0;
  plan.chance[static_cast<size_t>(HoldAt::kCreate)] = 0;
  plan.chance[static_cast<size_t>(HoldAt::kExit)] = 0;
  plan.partner_chance = 1.0;
  plan.partner_parks = 2;
  ChaosPerturber p(plan);
  replay::Event park;
  park.kind = replay::EventKind::Park;
  park.goid = 1;
  EXPECT_EQ(p.hold_ns(replay::Event::create(0, 0, /*parent=*/1, 7, 0x401000, 0x402000, 0)), 0u);
  EXPECT_EQ(p.hold_ns(first_run(7)), plan.partner_cap_ns) << "the cap bounds a partner hold";
  EXPECT_FALSE(p.hold_over(0));
  p.hold_ns(park);
  EXPECT_FALSE(p.hold_over(0)) << "one park of two";
  p.hold_ns(park);
  EXPECT_TRUE(p.hold_over(0));
  // A partner that exits parks no more: its hold ends then.
  EXPECT_EQ(p.hold_ns(replay::Event::create(0, 0, /*parent=*/1, 8, 0x401000, 0x402000, 0)), 0u);
  EXPECT_EQ(p.hold_ns(first_run(8)), plan.partner_cap_ns);
  replay::Event exit;
  exit.kind = replay::EventKind::Exit;
  exit.goid = 1;
  EXPECT_FALSE(p.hold_over(1));
  p.hold_ns(exit);
  EXPECT_TRUE(p.hold_over(1));
}

TEST(ChaosPlan, NoPartnerHoldsWithOneP) {
  for (uint64_t i = 0; i < 200; i++) {
    auto p = ChaosPlan::from_seed(run_seed(3, i), {0, 1});
    if (p.gomaxprocs == 1) {
      EXPECT_EQ(p.partner_chance, 0) << "the held thread would keep the only P";
    }
    EXPECT_GE(p.partner_parks, 1u);
    EXPECT_LE(p.partner_parks, 3u);
  }
}

}  // namespace
}  // namespace gorepro::repro
