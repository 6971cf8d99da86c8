// Grouping, ages, filters and output shapes of leak reports, over LeakScenario.
#include <gtest/gtest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "leak_scenario.h"
#include "replay/duration.h"
#include "replay/leak_report.h"
#include "replay/replayer.h"
#include "replay/trace_session.h"

namespace gorepro::replay {
namespace {

using namespace testing;

class LeakReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = scenario_.write("leaks.gtr");
    auto r = TraceReader::open(path_);
    ASSERT_TRUE(r.ok()) << r.error().message();
    reader_ = std::move(*r);
    LeakScenario::symbols(fake_);
  }
  LeakReport report(const ReportOptions& o = {}, std::optional<uint64_t> at_event = std::nullopt) {
    Replayer rp(*reader_);
    if (at_event) rp.seek_to_event(*at_event); else rp.run_to_end();
    TraceSymbols symbols(&fake_);
    auto r = build_report(*reader_, rp.table(), symbols, o, rp.table().time_ns());
    EXPECT_TRUE(r.ok()) << r.error().message();
    return r.ok() ? *r : LeakReport{};
  }

  LeakScenario scenario_;
  std::string path_;
  std::unique_ptr<TraceReader> reader_;
  FakeSymbolizer fake_;
};

TEST_F(LeakReportTest, GroupsAliveGoroutinesByCreationSiteStartFunctionAndBlockSite) {
  LeakReport r = report();
  ASSERT_EQ(r.groups.size(), 3u);  // A, B, and main's placeholder
  const LeakGroup& a = r.groups[0];
  EXPECT_EQ(a.creation_site, (SourceFrame{"main.sendLeaks", "/abs/main.go", 21, false}));
  EXPECT_EQ(a.start_function, "main.sendLeaks.func1");
  EXPECT_EQ(a.state, GoState::Waiting);
  EXPECT_EQ(a.wait_reason, "chan send");
  EXPECT_EQ(a.block_site, (SourceFrame{"main.sendLeaks.func1", "/abs/main.go", 23, false}));
  EXPECT_EQ(a.alive, scenario_.leaked_a.size());
  EXPECT_EQ(a.created, scenario_.leaked_a.size() + scenario_.exited_a);
  EXPECT_EQ(a.goids, scenario_.leaked_a);
  ASSERT_EQ(a.creation_stack.size(), 2u);
  EXPECT_EQ(a.creation_stack[1].function, "main.main");
  ASSERT_EQ(a.block_stack.size(), 4u);
  EXPECT_EQ(a.block_stack[0].function, "runtime.gopark");

  const LeakGroup& b = r.groups[1];
  EXPECT_EQ(b.creation_site.line, 40);
  EXPECT_EQ(b.wait_reason, "chan receive");
  EXPECT_EQ(b.alive, scenario_.leaked_b.size());
  EXPECT_EQ(b.created, scenario_.leaked_b.size());
  EXPECT_EQ(r.groups[2].creation_site.function, "?");  // goroutine 1 was only seen acting
  EXPECT_EQ(r.hidden_runtime, 1u);
  EXPECT_EQ(r.events, reader_->event_count());
  EXPECT_EQ(r.duration_ns, scenario_.end_time - LeakScenario::kStart);
}

TEST_F(LeakReportTest, AgesAreMinMedianMaxTimeInTheCurrentState) {
  LeakReport r = report();
  std::vector<uint64_t> ages;
  for (uint64_t t : scenario_.park_time_a) ages.push_back(scenario_.end_time - t);
  std::sort(ages.begin(), ages.end());  // 5 goroutines: the median is the 3rd
  EXPECT_EQ(r.groups[0].age.min, ages.front());
  EXPECT_EQ(r.groups[0].age.median, ages[2]);
  EXPECT_EQ(r.groups[0].age.max, ages.back());
}

TEST_F(LeakReportTest, RuntimeGoroutinesAreHiddenUnlessAllIsAsked) {
  ReportOptions o;
  o.include_runtime = true;
  LeakReport r = report(o);
  EXPECT_EQ(r.hidden_runtime, 0u);
  auto it = std::find_if(r.groups.begin(), r.groups.end(),
                         [](const LeakGroup& g) { return g.start_function == "runtime.gcBgMarkWorker"; });
  ASSERT_NE(it, r.groups.end());
  EXPECT_EQ(it->preexisting, 1u);
  EXPECT_EQ(it->goids, std::vector<uint64_t>{scenario_.runtime_goid});
}

TEST_F(LeakReportTest, MinAgeHidesGoroutinesInTheirStateForLess) {
  // Keep only A goroutines blocked at least as long as the 2nd oldest one.
  std::vector<uint64_t> ages;
  for (uint64_t t : scenario_.park_time_a) ages.push_back(scenario_.end_time - t);
  std::sort(ages.rbegin(), ages.rend());
  ReportOptions o;
  o.min_age_ns = ages[1];
  LeakReport r = report(o);
  ASSERT_FALSE(r.groups.empty());
  EXPECT_EQ(r.groups[0].creation_site.line, 21);
  EXPECT_EQ(r.groups[0].alive, 2u);
  // Everything else (3 of A, 3 of B, goroutine 1 at age 0) is younger.
  EXPECT_EQ(r.hidden_young, 3u + scenario_.leaked_b.size() + 1u);
}

TEST_F(LeakReportTest, MaxIdsLimitsTheListedIdsButNotTheCount) {
  ReportOptions o;
  o.max_ids = 2;
  LeakReport r = report(o);
  EXPECT_EQ(r.groups[0].goids, (std::vector<uint64_t>{scenario_.leaked_a[0], scenario_.leaked_a[1]}));
  EXPECT_EQ(r.groups[0].alive, scenario_.leaked_a.size());
}

TEST_F(LeakReportTest, AtAnEventShowsGoroutinesAliveThen) {
  // Right after the first goroutine of A parks, it is the only one of A created so far.
  LeakReport r = report({}, scenario_.first_park_a_seq);
  uint64_t a_alive = 0;
  for (const auto& g : r.groups)
    if (g.creation_site.line == 21) a_alive += g.alive;
  EXPECT_EQ(a_alive, 1u);
  EXPECT_EQ(r.at_events, scenario_.first_park_a_seq + 1);
  // Through the trace session, --at as an event number and as a time.
  std::vector<std::string> warnings;
  auto by_event = report_trace(path_, std::to_string(scenario_.first_park_a_seq), {}, warnings);
  ASSERT_TRUE(by_event.ok()) << by_event.error().message();
  EXPECT_EQ(by_event->at_events, scenario_.first_park_a_seq + 1);
  uint64_t since_start = scenario_.park_time_a[0] - LeakScenario::kStart;
  auto by_time = report_trace(path_, std::to_string(since_start) + "ns", {}, warnings);
  ASSERT_TRUE(by_time.ok()) << by_time.error().message();
  EXPECT_EQ(by_time->at_events, scenario_.first_park_a_seq + 1);
  EXPECT_EQ(by_time->at_ns, since_start);
  EXPECT_FALSE(report_trace(path_, "999999", {}, warnings).ok());
  EXPECT_FALSE(report_trace(path_, "soon", {}, warnings).ok());
}

TEST_F(LeakReportTest, IgnoreSiteMatchesFileSuffixAndLine) {
  ReportOptions o;
  o.ignore_sites = {"main.go:21"};
  LeakReport r = report(o);
  EXPECT_EQ(r.ignored, scenario_.leaked_a.size());
  for (const auto& g : r.groups) EXPECT_NE(g.creation_site.line, 21);
  o.ignore_sites = {"other.go:21"};
  EXPECT_EQ(report(o).ignored, 0u);
  o.ignore_sites = {"main.go"};
  TraceSymbols symbols(&fake_);
  Replayer rp(*reader_);
  EXPECT_FALSE(build_report(*reader_, rp.table(), symbols, o, 0).ok());
}

TEST_F(LeakReportTest, IgnoreFuncMatchesAnyFrameOfTheCreationOrBlockStack) {
  ReportOptions o;
  o.ignore_funcs = {"chanrecv$"};  // a block-stack frame of B only
  LeakReport r = report(o);
  EXPECT_EQ(r.ignored, scenario_.leaked_b.size());
  o.ignore_funcs = {"^main\\.main$"};  // in both creation stacks
  EXPECT_EQ(report(o).ignored, scenario_.leaked_a.size() + scenario_.leaked_b.size());
  o.ignore_funcs = {"("};
  TraceSymbols symbols(&fake_);
  Replayer rp(*reader_);
  auto bad = build_report(*reader_, rp.table(), symbols, o, 0);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().what.find("--ignore-func"), std::string::npos);
}

TEST_F(LeakReportTest, WithoutSymbolsEveryNameIsTheRawPc) {
  Replayer rp(*reader_);
  rp.run_to_end();
  TraceSymbols raw(nullptr);
  auto r = build_report(*reader_, rp.table(), raw, {}, rp.table().time_ns());
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->symbolic);
  EXPECT_EQ(r->hidden_runtime, 0u);  // without names nothing is known to be the runtime's
  auto it = std::find_if(r->groups.begin(), r->groups.end(),
                         [](const LeakGroup& g) { return g.creation_site.function == "0x401005"; });
  ASSERT_NE(it, r->groups.end());
  EXPECT_EQ(it->start_function, "0x402000");
  // The trace session finds no binary at the recorded path and says so once.
  std::vector<std::string> warnings;
  ASSERT_TRUE(report_trace(path_, "", {}, warnings).ok());
  EXPECT_EQ(std::count_if(warnings.begin(), warnings.end(),
                          [](const std::string& w) { return w.find("raw PCs") != std::string::npos; }), 1);
}

TEST_F(LeakReportTest, JsonHasTheDocumentedShape) {
  auto j = report_to_json(report());
  EXPECT_EQ(j["trace"]["binary"], "/nonexistent/leaky");
  EXPECT_EQ(j["trace"]["go_version"], "go1.22.12");
  EXPECT_EQ(j["trace"]["backend"], "ptrace");
  EXPECT_EQ(j["trace"]["events"], reader_->event_count());
  const auto& g = j["groups"][0];
  EXPECT_EQ(g["creation_site"]["function"], "main.sendLeaks");
  EXPECT_EQ(g["creation_site"]["file"], "/abs/main.go");
  EXPECT_EQ(g["creation_site"]["line"], 21);
  EXPECT_EQ(g["start_function"], "main.sendLeaks.func1");
  EXPECT_EQ(g["state"], "waiting");
  EXPECT_EQ(g["wait_reason"], "chan send");
  EXPECT_EQ(g["block_site"]["line"], 23);
  EXPECT_EQ(g["created"], 9);
  EXPECT_EQ(g["alive"], 5);
  EXPECT_EQ(g["preexisting"], 0);
  for (const char* k : {"min", "median", "max"}) EXPECT_TRUE(g["blocked_ns"][k].is_number());
  EXPECT_EQ(g["goids"].size(), 5u);
  EXPECT_TRUE(g["creation_stack"][0]["function"].is_string());
  EXPECT_TRUE(g["block_stack"].is_array());
}

TEST_F(LeakReportTest, TextNamesEachGroupsSiteReasonAndIds) {
  std::string text = format_report_text(report());
  EXPECT_NE(text.find("5 alive / 9 created"), std::string::npos) << text;
  EXPECT_NE(text.find("waiting: chan send"), std::string::npos) << text;
  EXPECT_NE(text.find("/abs/main.go:21"), std::string::npos) << text;
  EXPECT_NE(text.find("1 runtime"), std::string::npos) << text;
}

TEST(Duration, ParsesGoStyleDurations) {
  EXPECT_EQ(parse_duration("1.5s"), 1'500'000'000u);
  EXPECT_EQ(parse_duration("250ms"), 250'000'000u);
  EXPECT_EQ(parse_duration("1m30s"), 90'000'000'000u);
  EXPECT_EQ(parse_duration("10us"), 10'000u);
  EXPECT_EQ(parse_duration("0"), 0u);
  EXPECT_FALSE(parse_duration("12"));
  EXPECT_FALSE(parse_duration("1x"));
  EXPECT_FALSE(parse_duration(""));
}

TEST(ReplayPoint, BareNumbersAreEventsAndDurationsAreTimes) {
  auto e = parse_replay_point("1234");
  ASSERT_TRUE(e.ok());
  EXPECT_FALSE(e->by_time);
  EXPECT_EQ(e->value, 1234u);
  auto t = parse_replay_point("1.5s");
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->by_time);
  EXPECT_EQ(t->value, 1'500'000'000u);
}

}  // namespace
}  // namespace gorepro::replay
