// GoroutineTable semantics and Replayer seeking.
#include <gtest/gtest.h>

#include <random>

#include "replay/replayer.h"
#include "replay_test_support.h"

namespace gorepro::replay {
namespace {

using namespace testing;

Event numbered(Event e, uint64_t seq) {
  e.seq = seq;
  return e;
}

TEST(GoroutineTable, FollowsCreateParkReadyExitThroughTheirStates) {
  GoroutineTable t(/*keep_dead=*/true);
  t.apply(numbered(Event::create(100, 7, 1, 5, 0x401005, 0x402000, 3), 0));
  ASSERT_NE(t.find(5), nullptr);
  EXPECT_EQ(t.find(5)->state, GoState::Runnable);
  EXPECT_EQ(t.find(5)->parent, 1u);
  EXPECT_EQ(t.find(5)->gopc, 0x401005u);
  EXPECT_EQ(t.find(5)->creation_stack, 3u);
  EXPECT_EQ(t.find(1)->state, GoState::Running);  // the parent acted

  t.apply(numbered(Event::park(200, 8, 5, 2, 0xc0001000, 4), 1));
  EXPECT_EQ(t.find(5)->state, GoState::Waiting);
  EXPECT_EQ(t.find(5)->wait_reason, 2u);
  EXPECT_EQ(t.find(5)->blocking_object, 0xc0001000u);
  EXPECT_EQ(t.find(5)->block_stack, 4u);
  EXPECT_EQ(t.find(5)->state_since_ns, 200u);

  t.apply(numbered(Event::ready(300, 7, 5, 1), 2));
  EXPECT_EQ(t.find(5)->state, GoState::Runnable);
  EXPECT_EQ(t.find(5)->wait_reason, 0u);
  EXPECT_EQ(t.find(5)->state_since_ns, 300u);

  t.apply(numbered(Event::exit(400, 8, 5), 3));
  EXPECT_EQ(t.find(5)->state, GoState::Dead);
  EXPECT_EQ(t.events_applied(), 4u);
  EXPECT_EQ(t.time_ns(), 400u);
}

TEST(GoroutineTable, DropsDeadGoroutinesButKeepsTheirSiteCountsByDefault) {
  GoroutineTable t;
  t.apply(numbered(Event::create(100, 7, 1, 5, 0x401005, 0x402000, 0), 0));
  t.apply(numbered(Event::create(110, 7, 1, 6, 0x401005, 0x402000, 0), 1));
  t.apply(numbered(Event::exit(120, 7, 5), 2));
  EXPECT_EQ(t.find(5), nullptr);
  EXPECT_NE(t.find(6), nullptr);
  EXPECT_EQ(t.dead_count(), 1u);
  EXPECT_EQ((t.created_by_site().at({0x401005, 0x402000})), 2u);
}

TEST(GoroutineTable, GoroutineActingOnAThreadPreemptsThePreviousOneThere) {
  GoroutineTable t;
  t.apply(numbered(Event::create(100, 7, 1, 5, 0x401005, 0x402000, 0), 0));  // 1 runs on tid 7
  t.apply(numbered(Event::create(200, 7, 5, 6, 0x401005, 0x402000, 0), 1));  // now 5 runs on tid 7
  EXPECT_EQ(t.find(5)->state, GoState::Running);
  EXPECT_EQ(t.find(1)->state, GoState::Runnable);
  EXPECT_EQ(t.find(1)->state_since_ns, 200u);
  t.apply(numbered(Event::create(300, 9, 6, 7, 0x401005, 0x402000, 0), 2));  // another thread
  EXPECT_EQ(t.find(5)->state, GoState::Running);
  EXPECT_EQ(t.find(6)->state, GoState::Running);
}

TEST(GoroutineTable, EventsAboutUnknownGoroutinesMakePlaceholders) {
  GoroutineTable t;
  t.apply(numbered(Event::park(100, 7, 42, 2, 0, 0), 0));
  t.apply(numbered(Event::ready(150, 7, 43, 44), 1));
  t.apply(numbered(Event::exit(160, 8, 45), 2));
  t.apply(numbered(Event::park(170, 8, 0, 2, 0, 0), 3));  // goid 0: no goroutine
  ASSERT_NE(t.find(42), nullptr);
  EXPECT_TRUE(t.find(42)->placeholder);
  EXPECT_EQ(t.find(42)->state, GoState::Waiting);
  EXPECT_EQ(t.find(43)->state, GoState::Runnable);
  EXPECT_EQ(t.find(44)->state, GoState::Running);
  EXPECT_EQ(t.find(45), nullptr);
  EXPECT_EQ(t.find(0), nullptr);
  // A create for a goid first seen elsewhere replaces the placeholder.
  t.apply(numbered(Event::create(200, 7, 1, 43, 0x401005, 0x402000, 0), 4));
  EXPECT_FALSE(t.find(43)->placeholder);
  EXPECT_EQ(t.find(43)->parent, 1u);
  EXPECT_EQ(t.find(43)->gopc, 0x401005u);
  EXPECT_EQ(t.find(43)->state, GoState::Runnable);
}

TEST(GoroutineTable, PreexistingGoroutineTakesItsRecordedState) {
  GoroutineTable t;
  t.apply(numbered(Event::preexisting(100, 3, 1, GoState::Waiting, 7, 0x401005, 0x402000, 9), 0));
  t.apply(numbered(Event::preexisting(100, 4, 0, GoState::Syscall, 0, 0x401005, 0x402000, 0), 1));
  EXPECT_TRUE(t.find(3)->preexisting);
  EXPECT_EQ(t.find(3)->state, GoState::Waiting);
  EXPECT_EQ(t.find(3)->wait_reason, 7u);
  EXPECT_EQ(t.find(3)->block_stack, 9u);
  EXPECT_EQ(t.find(4)->state, GoState::Syscall);
  EXPECT_EQ((t.created_by_site().at({0x401005, 0x402000})), 2u);
}

// A random churn trace over several small chunks, and the tables after every prefix of it.
struct RandomTrace {
  std::string path;
  std::vector<Event> events;

  explicit RandomTrace(const std::string& name, int n = 600) {
    TraceWriterOptions opt;
    opt.chunk_bytes = 256;
    std::mt19937 rng(7);
    path = write_trace(name, [&](TraceWriter& w) {
      uint64_t t = 1'000'000'000;
      for (int i = 0; i < n; ++i) {
        t += 1 + rng() % 1000;
        uint64_t g = 1 + rng() % 40;
        uint32_t tid = 1 + rng() % 3;
        Event e;
        switch (rng() % 4) {
          case 0: e = Event::create(t, tid, rng() % 5, g, 0x401000 + rng() % 3, 0x402000, 0); break;
          case 1: e = Event::park(t, tid, g, rng() % 4, rng() % 2 ? 0xc000000000 + g : 0, 0); break;
          case 2: e = Event::ready(t, tid, g, rng() % 5); break;
          default: e = Event::exit(t, tid, g); break;
        }
        must(w.append(e));
        events.push_back(numbered(e, static_cast<uint64_t>(i)));
      }
    }, opt);
  }
};

TEST(Replayer, SeekingToAnyEventInAnyOrderMatchesALinearScan) {
  RandomTrace trace("random.gtr");
  std::vector<GoroutineTable> expected;  // expected[n]: after events [0, n)
  GoroutineTable scan;
  expected.push_back(scan);
  for (const auto& e : trace.events) {
    scan.apply(e);
    expected.push_back(scan);
  }
  auto reader = TraceReader::open(trace.path);
  ASSERT_TRUE(reader.ok());
  ASSERT_GT((*reader)->chunks().size(), 4u);
  Replayer::Options opt;
  opt.checkpoint_interval = 50;
  Replayer r(**reader, opt);
  r.run_to_end();
  EXPECT_GT(r.checkpoint_count(), 3u);
  std::mt19937 rng(3);
  for (int i = 0; i < 300; ++i) {
    uint64_t target = rng() % (trace.events.size() + 1);
    r.seek(target);
    ASSERT_EQ(r.position(), target);
    ASSERT_EQ(r.table().goroutines(), expected[target].goroutines()) << "at " << target;
    ASSERT_EQ(r.table().created_by_site(), expected[target].created_by_site()) << "at " << target;
  }
  r.seek_to_event(10);
  EXPECT_EQ(r.position(), 11u);
  r.seek(trace.events.size() + 100);
  EXPECT_EQ(r.position(), trace.events.size());
}

TEST(Replayer, CheckpointsLaidWhileOpeningGiveTheSameTablesAsALinearScan) {
  RandomTrace trace("laid.gtr");
  expect_seeks_match_stepping(trace.path, 50);
}

TEST(Replayer, ALayerLaysOneCheckpointPerIntervalAndOneAtTheEnd) {
  RandomTrace trace("count.gtr", 610);
  Replayer::Layer layer(Replayer::Options{50, false});
  auto reader = TraceReader::open(trace.path, layer.visitor());
  ASSERT_TRUE(reader.ok());
  Replayer r(**reader, std::move(layer));
  EXPECT_EQ(r.checkpoint_count(), 610u / 50 + 1);
  for (uint64_t target : {600u, 3u, 610u, 0u, 333u}) r.seek(target);
  EXPECT_EQ(r.checkpoint_count(), 610u / 50 + 1) << "seeking lays no more";
}

TEST(Replayer, ALayerThatSawAnotherTraceIsRefused) {
  RandomTrace trace("other.gtr", 100);
  auto reader = TraceReader::open(trace.path);
  ASSERT_TRUE(reader.ok());
  EXPECT_DEATH(
      {
        Replayer::Layer unfed;
        Replayer r(**reader, std::move(unfed));
      },
      "another trace");
}

TEST(Replayer, SeekTimeAppliesEveryEventUpToThatTime) {
  RandomTrace trace("times.gtr", 200);
  auto reader = TraceReader::open(trace.path);
  ASSERT_TRUE(reader.ok());
  Replayer r(**reader);
  for (size_t i = 0; i < trace.events.size(); i += 7) {
    r.seek_time(trace.events[i].time_ns);
    size_t n = i + 1;
    while (n < trace.events.size() && trace.events[n].time_ns == trace.events[i].time_ns) ++n;
    EXPECT_EQ(r.position(), n);
  }
  r.seek_time(0);
  EXPECT_EQ(r.position(), 0u);
}

}  // namespace
}  // namespace gorepro::replay
