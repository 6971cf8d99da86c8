// ReplayConsole over a hand-built trace: moving by events, kinds, sites and breakpoints in both
// directions, and what where / goroutine / goroutines / sites / sched show. Expected values come
// from how console_scenario.h builds the trace.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <optional>

#include "console_scenario.h"
#include "replay/duration.h"

namespace gorepro::replay {
namespace {

using namespace testing;

nlohmann::json parse(const std::string& line) {
  EXPECT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "one JSON object per line";
  return nlohmann::json::parse(line);
}

class Console : public ::testing::Test {
 protected:
  void SetUp() override { path_ = scenario_.write("console.gtr"); }
  ConsoleScenario scenario_;
  std::string path_;
};

TEST_F(Console, StartsBeforeTheFirstEvent) {
  ConsoleHarness h(path_, true);
  auto j = parse(h.run("where"));
  EXPECT_EQ(j["position"], 0);
  EXPECT_TRUE(j["event"].is_null());
}

TEST_F(Console, NextCreateAtASiteLandsOnTheKthGoroutineCreatedThere) {
  for (const char* site : {"main.go:21", "/abs/main.go:21", "main\\.fanout$", "fanout\\.func1"}) {
    ConsoleHarness h(path_, true);
    for (size_t k = 0; k < scenario_.goids_a.size(); ++k) {
      auto j = parse(h.run(fmt::format("next create {}", site)));
      EXPECT_EQ(j["event"]["kind"], "create") << site;
      EXPECT_EQ(j["event"]["goid"], scenario_.goids_a[k]) << site << " k=" << k;
      EXPECT_EQ(j["event"]["seq"], scenario_.create_seq[scenario_.goids_a[k]]);
    }
    ConsoleReply r = h.attempt(fmt::format("next create {}", site));
    ASSERT_TRUE(r.error) << "there is no sixth creation at " << site;
    EXPECT_FALSE(r.usage_error);
  }
}

TEST_F(Console, PrevCreateWalksTheSameCreationsBackwardAcrossChunks) {
  ConsoleHarness h(path_, true);
  ASSERT_GT(h.reader->chunks().size(), 5u) << "the scenario should span many chunks";
  h.run("goto end");
  for (size_t k = scenario_.goids_a.size(); k-- > 0;)
    EXPECT_EQ(parse(h.run("prev create main.go:21"))["event"]["goid"], scenario_.goids_a[k]);
  EXPECT_TRUE(h.attempt("prev create main.go:21").error);
}

TEST_F(Console, PrevAfterNextReturnsToTheSameEvent) {
  ConsoleHarness h(path_, false);
  for (uint64_t from = 0; from + 3 < scenario_.events; from += 3) {
    h.run(fmt::format("goto {}", from));
    std::string here = h.run("where");
    for (uint64_t n : {1, 2, 5, 7}) {
      if (from + n >= scenario_.events) continue;
      h.run(fmt::format("next {}", n));
      EXPECT_EQ(h.console->position(), from + n + 1);
      h.run(fmt::format("prev {}", n));
      EXPECT_EQ(h.run("where"), here) << "from " << from << " by " << n;
    }
    if (h.attempt("next park").error) continue;  // no park after `from`
    h.run("prev");
    h.run("next");
    std::string park = h.run("where");
    h.run("next");
    h.run("prev");
    EXPECT_EQ(h.run("where"), park);
  }
}

TEST_F(Console, KindsWithASiteMatchReadyAndExitByTheirGoroutinesGoStatement) {
  ConsoleHarness h(path_, true);
  auto j = parse(h.run("next ready main.go:40"));
  EXPECT_EQ(j["event"]["goid"], scenario_.goids_b[0]);
  EXPECT_EQ(j["event"]["waker"], 1);
  j = parse(h.run("next exit main\\.pool"));
  EXPECT_EQ(j["event"]["seq"], scenario_.exit_seq[scenario_.goids_b[0]]);
  EXPECT_TRUE(h.attempt("next exit main.go:21").error) << "site A's goroutines never exit";
  // From just after its creation the goroutine is in the table, not among the creates ahead.
  h.run(fmt::format("goto {}", scenario_.create_seq[scenario_.goids_b[0]]));
  j = parse(h.run("next exit main\\.pool"));
  EXPECT_EQ(j["event"]["seq"], scenario_.exit_seq[scenario_.goids_b[0]]);
  h.run(fmt::format("goto {}", scenario_.exit_seq[scenario_.goids_b[0]]));
  j = parse(h.run("prev ready main.go:40"));
  EXPECT_EQ(j["event"]["goid"], scenario_.goids_b[0]);
  h.run("goto start");
  j = parse(h.run("next park main.go:23"));
  EXPECT_EQ(j["event"]["goid"], scenario_.goids_a[0]);
  EXPECT_EQ(j["event"]["wait_reason"], "chan send");
  EXPECT_EQ(j["event"]["block_site"]["line"], 23);
}

// From every position, with checkpoints at every event, every 4 and none inside the trace,
// `next`/`prev` ready|exit SITE land on what the scenario says: the nearest ready or exit of
// a goroutine created at site B (g20..g22), even when its creation lies intervals back.
TEST_F(Console, ReadyAndExitBySiteFromEveryPositionMatchTheScenario) {
  for (uint64_t interval : {1u, 4u, 1000u}) {
    ConsoleHarness h(path_, true, true, interval);
    for (const char* kind : {"ready", "exit"}) {
      const auto& seqs = std::string(kind) == "ready" ? scenario_.ready_seq : scenario_.exit_seq;
      std::vector<uint64_t> want;
      for (const auto& [goid, seq] : seqs) want.push_back(seq);
      std::sort(want.begin(), want.end());
      for (uint64_t pos = 0; pos <= scenario_.events; ++pos) {
        SCOPED_TRACE(fmt::format("interval {} {} from position {}", interval, kind, pos));
        for (bool forward : {true, false}) {
          h.run(pos == 0 ? "goto start" : fmt::format("goto {}", pos - 1));  // at event pos-1: position pos
          // next: the first at or after position pos; prev: the last before event pos-1.
          std::optional<uint64_t> expected;
          for (uint64_t seq : want) {
            if (forward && seq >= pos && !expected) expected = seq;
            if (!forward && pos > 0 && seq < pos - 1) expected = seq;
          }
          ConsoleReply r = h.attempt(fmt::format("{} {} main.go:40", forward ? "next" : "prev", kind));
          if (!expected) {
            EXPECT_TRUE(r.error) << (forward ? "next" : "prev") << ": " << r.output;
            continue;
          }
          ASSERT_FALSE(r.error) << (forward ? "next" : "prev") << ": " << r.error->message();
          EXPECT_EQ(parse(r.output)["event"]["seq"], *expected) << (forward ? "next" : "prev");
        }
      }
    }
  }
}

TEST_F(Console, BreakpointsStopAtCreationsAndBlocksInBothDirections) {
  ConsoleHarness h(path_, true);
  EXPECT_TRUE(h.attempt("continue").error) << "no breakpoints yet";
  h.run("break main.go:40");  // B's go statement: creations
  h.run("break main.go:23");  // A's block site: parks
  std::vector<uint64_t> expected;
  for (const auto& [goid, seq] : scenario_.create_seq)
    if (goid >= 20) expected.push_back(seq);
  for (const auto& [goid, seq] : scenario_.park_seq)
    if (goid < 20) expected.push_back(seq);
  std::sort(expected.begin(), expected.end());
  std::vector<uint64_t> forward, backward;
  while (true) {
    ConsoleReply r = h.attempt("continue");
    if (r.error) break;
    forward.push_back(parse(r.output)["event"]["seq"]);
  }
  EXPECT_EQ(forward, expected);
  h.run("goto end");
  while (true) {
    ConsoleReply r = h.attempt("rc");
    if (r.error) break;
    backward.insert(backward.begin(), parse(r.output)["event"]["seq"].get<uint64_t>());
  }
  EXPECT_EQ(backward, expected);
  EXPECT_EQ(parse(h.run("break"))["breakpoints"].size(), 2u);
  EXPECT_EQ(parse(h.run("delete 1"))["deleted"], 1);
  EXPECT_EQ(parse(h.run("delete"))["deleted"], 1);
  EXPECT_TRUE(h.attempt("c").error);
}

TEST_F(Console, GotoTakesEventsTimesAndEnds) {
  ConsoleHarness h(path_, true);
  EXPECT_EQ(parse(h.run("goto 7"))["event"]["seq"], 7);
  EXPECT_EQ(parse(h.run("goto end"))["event"]["seq"], scenario_.events - 1);
  EXPECT_EQ(parse(h.run("goto start"))["position"], 0);
  // Events are 1 ms apart from 1 ms after the start: the one at 3 ms is event 2.
  EXPECT_EQ(parse(h.run("goto 3ms"))["event"]["seq"], 2);
  ConsoleReply r = h.attempt(fmt::format("goto {}", scenario_.events));
  EXPECT_TRUE(r.error && !r.usage_error);
  EXPECT_TRUE(h.attempt("goto soon").usage_error);
}

TEST_F(Console, WhereShowsTimeGoroutineSiteAndStack) {
  ConsoleHarness h(path_, false);
  h.run("next park main.go:23");
  std::string w = h.run("where");
  EXPECT_NE(w.find(fmt::format("event {}", scenario_.park_seq[10])), std::string::npos) << w;
  EXPECT_NE(w.find("g10 parks: chan send at /abs/main.go:23 (main.fanout.func1)"), std::string::npos) << w;
  EXPECT_NE(w.find("block stack:"), std::string::npos) << w;
  EXPECT_NE(w.find("runtime.chansend"), std::string::npos) << w;
  EXPECT_NE(w.find("+" + format_duration(2'000'000)), std::string::npos) << "event 1 is 2 ms after the start:\n" << w;
}

TEST_F(Console, GoroutineShowsItsWholeHistoryWithParkReasonAndWaker) {
  ConsoleHarness h(path_, true);
  const uint64_t g = scenario_.goids_b[1];
  auto j = parse(h.run(fmt::format("goroutine {}", g)));
  ASSERT_EQ(j["events"].size(), 4u);
  EXPECT_EQ(j["state"], "not created yet");
  EXPECT_EQ(j["events"][0]["kind"], "create");
  EXPECT_EQ(j["events"][0]["parent"], 1);
  EXPECT_EQ(j["events"][0]["creation_site"]["line"], 40);
  EXPECT_EQ(j["events"][1]["kind"], "park");
  EXPECT_EQ(j["events"][1]["wait_reason"], "chan receive");
  EXPECT_FALSE(j["events"][1]["block_stack"].empty());
  EXPECT_EQ(j["events"][2]["kind"], "ready");
  EXPECT_EQ(j["events"][2]["waker"], 1);
  EXPECT_EQ(j["events"][3]["kind"], "exit");
  h.run(fmt::format("goto {}", scenario_.park_seq[g]));
  EXPECT_EQ(parse(h.run(fmt::format("goroutine {}", g)))["state"], "waiting: chan receive");
  h.run("goto end");
  EXPECT_EQ(parse(h.run(fmt::format("goroutine {}", g)))["state"], "dead");
  EXPECT_TRUE(h.attempt("goroutine 999").error);
  EXPECT_TRUE(h.attempt("goroutine x").usage_error);
}

TEST_F(Console, GoroutineTextMarksTheCurrentPoint) {
  ConsoleHarness h(path_, false);
  h.run(fmt::format("goto {}", scenario_.park_seq[10]));
  std::string out = h.run("goroutine 10");
  auto marker = out.find("--- current point");
  ASSERT_NE(marker, std::string::npos) << out;
  EXPECT_LT(out.find("created by g1"), marker);
  EXPECT_LT(out.find("parks: chan send"), marker) << "the park is the current event";
}

TEST_F(Console, GoroutinesGroupsTheTableAtThePointAndFilters) {
  ConsoleHarness h(path_, true);
  h.run(fmt::format("goto {}", scenario_.sched_seq));
  auto j = parse(h.run("goroutines"));
  uint64_t alive = 0;
  for (const auto& g : j["report"]["groups"]) alive += g["alive"].get<uint64_t>();
  // Every A and B goroutine is parked before the sample; main (g1) runs as a placeholder.
  EXPECT_EQ(alive, scenario_.goids_a.size() + scenario_.goids_b.size() + 1);
  j = parse(h.run("goroutines --reason 'chan send'"));
  ASSERT_EQ(j["report"]["groups"].size(), 1u);
  EXPECT_EQ(j["report"]["groups"][0]["alive"], scenario_.goids_a.size());
  j = parse(h.run("goroutines --state waiting --site main.go:40"));
  ASSERT_EQ(j["report"]["groups"].size(), 1u);
  EXPECT_EQ(j["report"]["groups"][0]["wait_reason"], "chan receive");
  EXPECT_EQ(parse(h.run("goroutines --state runnable"))["report"]["groups"].size(), 0u);
  EXPECT_TRUE(h.attempt("goroutines --state asleep").usage_error);
  EXPECT_TRUE(h.attempt("goroutines --colour").usage_error);
}

using Counts = std::pair<uint64_t, uint64_t>;  // created, alive

TEST_F(Console, SitesCountCreatedAndAliveAtThePoint) {
  ConsoleHarness h(path_, true);
  auto count = [&](const nlohmann::json& j, int line) {
    for (const auto& s : j["sites"])
      if (s["creation_site"]["line"] == line) return std::pair{s["created"].get<uint64_t>(), s["alive"].get<uint64_t>()};
    return Counts{0, 0};
  };
  h.run(fmt::format("goto {}", scenario_.sched_seq));
  auto j = parse(h.run("sites"));
  EXPECT_EQ(count(j, 21), Counts(5, 5));
  EXPECT_EQ(count(j, 40), Counts(3, 3));
  h.run("goto end");
  j = parse(h.run("sites"));
  EXPECT_EQ(count(j, 21), Counts(5, 5));
  EXPECT_EQ(count(j, 40), Counts(3, 0));
  h.run(fmt::format("goto {}", scenario_.create_seq[12]));
  EXPECT_EQ(count(parse(h.run("sites")), 21), Counts(3, 3));
}

TEST_F(Console, SchedShowsTheNearestSampleRawText) {
  ConsoleHarness h(path_, false);
  EXPECT_NE(h.run("sched").find(ConsoleScenario::kSchedText), std::string::npos) << "the first one after the start";
  h.run("goto end");
  std::string out = h.run("sched");
  EXPECT_NE(out.find(fmt::format("event {}", scenario_.sched_seq)), std::string::npos) << out;
  EXPECT_NE(out.find(ConsoleScenario::kSchedText), std::string::npos) << out;
}

TEST_F(Console, WorksOnRawPcsWhenTheBinaryIsGone) {
  ConsoleHarness h(path_, true, /*symbolic=*/false);
  for (size_t k = 0; k < scenario_.goids_a.size(); ++k)
    EXPECT_EQ(parse(h.run("next create ^0x401005$"))["event"]["goid"], scenario_.goids_a[k]);
  auto park = parse(h.run("next park"));
  EXPECT_EQ(park["event"]["goid"], scenario_.goids_a.back());
  EXPECT_EQ(park["event"]["wait_reason"], "chan send");
}

TEST_F(Console, MistakesAreUsageErrorsThatNameTheFix) {
  ConsoleHarness h(path_, false);
  for (const char* bad : {"fly", "next sideways", "next create main.go:21 extra", "break (", "goto", "where now",
                          "help fly", "next 'unterminated"}) {
    ConsoleReply r = h.attempt(bad);
    ASSERT_TRUE(r.error) << bad;
    EXPECT_TRUE(r.usage_error) << bad;
    EXPECT_FALSE(r.error->message().empty());
  }
  EXPECT_EQ(h.console->position(), 0u) << "a failed command does not move";
  ConsoleReply at_start = h.attempt("prev");
  EXPECT_TRUE(at_start.error && !at_start.usage_error);
}

TEST_F(Console, HelpListsEveryCommandAndExplainsEach) {
  ConsoleHarness h(path_, false);
  std::string all = h.run("help");
  for (const auto& name : ReplayConsole::command_words()) {
    EXPECT_NE(all.find(name), std::string::npos) << name;
    EXPECT_NE(h.run("help " + name).find("usage: "), std::string::npos) << name;
  }
}

TEST_F(Console, SameCommandsGiveIdenticalOutput) {
  const std::vector<std::string> script = {"next create main.go:21", "next 3", "where", "goroutines", "sites",
                                           "goroutine 21", "break main.go:23", "c", "rc", "goto end", "sched"};
  for (bool json : {false, true}) {
    std::string a, b;
    ConsoleHarness h1(path_, json), h2(path_, json, true, 0);  // with and without checkpoints
    for (const auto& line : script) a += h1.run(line), b += h2.run(line);
    EXPECT_EQ(a, b);
  }
}

}  // namespace
}  // namespace gorepro::replay
