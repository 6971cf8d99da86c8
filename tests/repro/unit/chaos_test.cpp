// ChaosPlan and ChaosPerturber: what makes a seed replayable — every choice is a function of the
// seed and of what the event is about, never of the order events arrive in.
#include "repro/chaos.h"

#include <gtest/gtest.h>

#include <algorithm>
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

// No chains of partner holds: one that waits on a held goroutine, or holds a goroutine another
// hold waits on, could end only at its cap — a time, which the machine's speed decides.
TEST(ChaosPerturber, NoPartnerHoldWaitsOnAHeldGoroutineOrHoldsOneThatIsWaitedOn) {
  ChaosPlan plan = ChaosPlan::from_seed(5, {0, 1});
  plan.chance.fill(0);
  plan.chance[static_cast<size_t>(HoldAt::kFirstRun)] = 1.0;
  plan.chance[static_cast<size_t>(HoldAt::kRun)] = 1.0;
  plan.partner_chance = 1.0;
  ChaosPerturber p(plan);
  auto ready = [](uint64_t goid, uint64_t waker) {
    replay::Event e;
    e.kind = replay::EventKind::Ready;
    e.goid = goid;
    e.other_goid = waker;
    return e;
  };
  auto run = [](uint64_t goid) {
    replay::Event e = first_run(goid);
    e.time_ns = 1000;
    return e;
  };
  p.hold_ns(replay::Event::create(0, 0, /*parent=*/1, 7, 0x401000, 0x402000, 0));
  p.hold_ns(run(1));  // 1 has run: its next run is one after a wakeup
  EXPECT_EQ(p.hold_ns(run(7)), plan.partner_cap_ns) << "7 waits for 1 to park";
  // 1 is woken by 9: holding it until 9 parks would hold what 7 waits on.
  p.hold_ns(ready(1, 9));
  EXPECT_EQ(p.hold_ns(run(1)), 0u);
  // 20 creates 21, parks, is woken by 9 and held until 9 parks; 21's first run would wait for
  // its creator 20 to park, which is held: that could only run out the cap.
  p.hold_ns(replay::Event::create(0, 0, /*parent=*/3, 20, 0x401100, 0x402000, 0));
  p.hold_ns(run(20));
  p.hold_ns(replay::Event::create(0, 0, /*parent=*/20, 21, 0x401200, 0x402000, 0));
  p.hold_ns(replay::Event::park(0, 0, 20, 1, 0, 0));
  p.hold_ns(ready(20, 9));
  EXPECT_EQ(p.hold_ns(run(20)), plan.partner_cap_ns) << "20 waits for 9 to park";
  EXPECT_EQ(p.hold_ns(run(21)), 0u);
}

// A run after a wakeup is keyed by where the goroutine woke from and how often it woke from
// there: wakeups of another kind in between (a timer, a preemption), which the OS schedule adds
// or leaves out, do not move the decision for its 5th wakeup from `<-out`.
TEST(ChaosPerturber, ARunHoldIsKeyedByTheWakeupItFollowsNotTheCountOfRuns) {
  ChaosPlan plan = ChaosPlan::from_seed(11, {0, 1});
  plan.chance.fill(0);
  plan.chance[static_cast<size_t>(HoldAt::kRun)] = 0.5;
  plan.partner_chance = 0;
  auto park = [](uint64_t goid, uint32_t reason) { return replay::Event::park(0, 0, goid, reason, 0, 0); };
  auto decisions = [&](bool timer_wakeups_between) {
    ChaosPerturber p(plan);
    p.hold_ns(replay::Event::create(0, 0, 1, 5, 0x401000, 0x402000, 0));
    p.hold_ns(replay::Event::create(0, 0, 1, 6, 0x401100, 0x402100, 0));
    p.hold_ns(first_run(5));
    std::vector<uint64_t> out;
    for (int i = 0; i < 40; i++) {
      if (timer_wakeups_between && i % 3 == 0) {
        p.hold_ns(park(5, /*sleep*/ 19));
        p.hold_ns(replay::Event::ready(0, 0, 5, 0));
        p.hold_ns(first_run(5));
      }
      p.hold_ns(park(5, /*chan receive*/ 14));
      p.hold_ns(replay::Event::ready(0, 0, 5, 6));
      out.push_back(p.hold_ns(first_run(5)));
    }
    return out;
  };
  const auto plain = decisions(false);
  EXPECT_EQ(plain, decisions(true));
  EXPECT_GT(std::count(plain.begin(), plain.end(), 0u), 5) << "some wakeups are not held";
  EXPECT_LT(std::count(plain.begin(), plain.end(), 0u), 35) << "some are";
}

// A held first run waits for its creator's progress, not for a drawn time, whenever there is a
// creator to wait for and more than one P.
TEST(ChaosPerturber, AHeldFirstRunIsAPartnerHold) {
  for (uint64_t i = 0; i < 40; i++) {
    ChaosPlan plan = ChaosPlan::from_seed(run_seed(21, i), {0, 1});
    if (plan.gomaxprocs == 1) continue;
    plan.chance[static_cast<size_t>(HoldAt::kFirstRun)] = 1.0;
    plan.chance[static_cast<size_t>(HoldAt::kCreate)] = 0;
    ChaosPerturber p(plan);
    EXPECT_EQ(p.hold_ns(replay::Event::create(0, 0, 1, 7, 0x401000, 0x402000, 0)), 0u);
    EXPECT_EQ(p.hold_ns(first_run(7)), plan.partner_cap_ns) << plan.describe();
  }
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
