// The predicate grammar shared by check, repro and record triggers: what parses, what is refused
// with which word named, and the values TraceFacts gives over LeakScenario — derived from how the
// scenario is built (site A main.go:21: 9 created, 4 exited, 5 blocked in chan send; site B
// main.go:40: 3 created, all blocked in chan receive; one runtime goroutine, never counted; main
// itself a placeholder with no known creation, never counted).
#include <gtest/gtest.h>

#include "leak_scenario.h"
#include "replay/predicate.h"
#include "replay/trace_facts.h"

namespace gorepro::replay {
namespace {

using namespace testing;

// Facts with fixed values per quantity, to test the logic alone.
class FixedFacts : public PredicateFacts {
 public:
  double leaked = 0, alive = 0, created = 0, live = 0, growth = 0;
  double value(Quantity q, const Selector&) const override {
    switch (q) {
      case Quantity::kLeaked: return leaked;
      case Quantity::kAlive: return alive;
      case Quantity::kCreated: return created;
      case Quantity::kLive: return live;
      case Quantity::kGrowth: return growth;
      case Quantity::kNeverWoken: return 0;
    }
    return 0;
  }
};

Predicate parse(const std::string& text) {
  auto p = Predicate::parse(text);
  EXPECT_TRUE(p.ok()) << text << ": " << (p.ok() ? "" : p.error().message());
  return p.ok() ? *p : *Predicate::parse("live>0");
}

TEST(Predicate, ParsesEveryFormTheDocsShow) {
  for (const char* text : {"leaked>0", "live>1000", "site=main.go:42", "site=main.go:42 alive>500",
                           "reason='chan send'", "reason=\"chan send\" alive>=2", "growth main.go:42 > 100/s",
                           "growth main\\.worker >= 6/m", "leaked>0 and not site=main.go:42",
                           "(leaked > 0 or live >= 10) and created != 3", "site='main\\.(a|b)' reason=select"}) {
    auto p = Predicate::parse(text);
    EXPECT_TRUE(p.ok()) << text << ": " << (p.ok() ? "" : p.error().message());
  }
}

TEST(Predicate, RefusesWithTheOffendingWordAndColumn) {
  struct Case {
    const char* text;
    const char* names;
  };
  for (const Case& c : {Case{"", "empty"}, Case{"leaked", "the end"}, Case{"leaked>", "the end"},
                        Case{"leaked>x", "'x'"}, Case{"leaked>0 and", "the end"}, Case{"(leaked>0", "the end"},
                        Case{"leaked>0)", "')'"}, Case{"lost>0", "'lost'"}, Case{"site main.go:1", "'main.go:1'"},
                        Case{"reason='chan send", "unterminated"}, Case{"site=main.go:1 live>3", "live counts"},
                        Case{"reason=select created>1", "no wait reason"}, Case{"leaked>-1", "'-1' at column 8"},
                        Case{"growth main.go:1 > fast", "'fast'"}}) {
    auto p = Predicate::parse(c.text);
    ASSERT_FALSE(p.ok()) << c.text;
    EXPECT_NE(p.error().what.find(c.names), std::string::npos) << c.text << " -> " << p.error().what;
    EXPECT_NE(p.error().hint.find("leaked>0"), std::string::npos);
  }
}

TEST(Predicate, AndBindsTighterThanOrAndNotNegates) {
  FixedFacts f;
  f.leaked = 1;
  EXPECT_TRUE(parse("leaked>0 or live>5 and created>5").eval(f));     // leaked>0 or (…)
  EXPECT_FALSE(parse("(leaked>0 or live>5) and created>5").eval(f));
  EXPECT_FALSE(parse("not leaked>0").eval(f));
  EXPECT_TRUE(parse("not not leaked>0").eval(f));
  f.growth = 2;  // per second
  EXPECT_TRUE(parse("growth main.go:1 > 119/m").eval(f));
  EXPECT_FALSE(parse("growth main.go:1 > 121/m").eval(f));
  for (auto [text, want] : {std::pair{"leaked>=1", true}, {"leaked<=0", false}, {"leaked==1", true},
                            {"leaked!=1", false}, {"leaked<2", true}}) {
    EXPECT_EQ(parse(text).eval(f), want) << text;
  }
}

class TraceFactsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = TraceReader::open(scenario_.write("facts.gtr"));
    ASSERT_TRUE(r.ok()) << r.error().message();
    reader_ = std::move(*r);
    LeakScenario::symbols(fake_);
  }
  double value(const std::string& text) {
    TraceSymbols symbols(&fake_);
    TraceFacts facts(*reader_, symbols);
    Predicate p = parse(text);
    const Condition& c = p.conditions().at(0);
    return facts.value(c.quantity, c.selector);
  }
  LeakScenario scenario_;
  std::unique_ptr<TraceReader> reader_;
  FakeSymbolizer fake_;
};

TEST_F(TraceFactsTest, CountsTheProgramsGoroutinesAtTheEnd) {
  EXPECT_EQ(value("leaked>0"), 8);
  EXPECT_EQ(value("alive>0"), 8);
  EXPECT_EQ(value("created>0"), 12);
  EXPECT_EQ(value("site=main.go:21 alive>0"), 5);
  EXPECT_EQ(value("site=main.go:21 created>0"), 9);
  EXPECT_EQ(value("site=main.go:40"), 3);
  EXPECT_EQ(value("site=main.go:99"), 0);
  EXPECT_EQ(value("reason='chan send'"), 5);
  EXPECT_EQ(value("reason='chan receive' leaked>0"), 3);
  EXPECT_EQ(value("site=main.go:21 reason='chan receive'"), 0);
  EXPECT_EQ(value("site=main\\.recvLeak leaked>0"), 3);  // a regex on the go statement's function
}

TEST_F(TraceFactsTest, LiveIsThePeakAndGrowthTheFastestSecond) {
  // A: exits interleave with creates (peak 5 alive at its 8th create); B adds 3 after A: the
  // program's peak is 8, all within one second of A's first create.
  EXPECT_EQ(value("live>0"), 8);
  EXPECT_EQ(value("growth main.go:21 > 0"), 5);
  EXPECT_EQ(value("growth main.go:40 > 0"), 3);
}

TEST_F(TraceFactsTest, UpToAnEventSeesOnlyWhatHappenedBefore) {
  TraceSymbols symbols(&fake_);
  TraceFacts facts(*reader_, symbols, scenario_.first_park_a_seq);  // A's first goroutine created, not parked
  Predicate p = parse("site=main.go:21 alive>0 and leaked==0");
  EXPECT_TRUE(p.eval(facts)) << p.explain(facts);
  EXPECT_EQ(p.explain(facts), "site=main.go:21 alive>0 (alive = 1), leaked==0 (leaked = 0)");
}

// record --until and --metrics feed the facts every event for hours: a goroutine that exited
// leaves nothing behind, so the table holds the live ones only (and their parent, seen acting),
// however many came and went. 200 000 goroutines in 2 s: this took 170 s while the per-site
// growth window was shifted at every change (before the binary search of 11ad112).
TEST(TraceFactsLive, KeepsOnlyTheLiveGoroutinesOfAnEndlessChurn) {
  FakeSymbolizer fake;
  LeakScenario::symbols(fake);
  TraceSymbols symbols(&fake);
  TraceFacts facts(symbols, {});
  const uint64_t gopc = LeakScenario::kGopcA, start = LeakScenario::kStartA;
  for (uint64_t i = 0; i < 200'000; ++i) {
    const uint64_t t = 1'000'000 + i * 10'000;  // 100 000 goroutines a second
    facts.add(Event::create(t, 1, 1, 100 + i, gopc, start, 0));
    if (i >= 5) facts.add(Event::exit(t + 1, 1, 100 + i - 5));  // 5 alive at any time
  }
  EXPECT_EQ(facts.live(), 5);
  EXPECT_LE(facts.table().goroutines().size(), 6u);
  EXPECT_EQ(facts.site_counts().at(0).created, 200'000u);
}

// "Growing and never woken" (docs/verdicts.md) from a stream of events: site A adds a goroutine
// every 100 ms for 4 s, each parking once in a chan send and never woken; site B grows the same
// way but a waker readies each of its goroutines once, which parks again at the same place;
// A's 40 are flagged, B's not — and neither while A is only a burst of 40 at once.
TEST(TraceFactsLive, GrowingAndNeverWokenFlagsOnlyASteadilyGrowingSiteNobodyWakes) {
  FakeSymbolizer fake;
  LeakScenario::symbols(fake);
  TraceSymbols symbols(&fake);
  auto run = [&](uint64_t every_ns) {
    auto facts = std::make_unique<TraceFacts>(symbols, std::vector<std::string>{"", "chan send", "chan receive"});
    const uint64_t a = LeakScenario::kGopcA, b = LeakScenario::kGopcB;
    for (uint64_t i = 0; i < 40; ++i) {
      const uint64_t t = 1'000'000 + i * every_ns, ga = 1000 + 2 * i, gb = ga + 1;
      facts->add(Event::create(t, 1, 1, ga, a, LeakScenario::kStartA, 0));
      facts->add(Event::park(t + 10, 2, ga, 1, 0x7000, 7));
      facts->add(Event::create(t + 20, 1, 1, gb, b, LeakScenario::kStartB, 0));
      facts->add(Event::park(t + 30, 3, gb, 2, 0x8000, 8));
      facts->add(Event::ready(t + 40, 4, gb, 1));
      facts->add(Event::park(t + 50, 3, gb, 2, 0x8000, 8));
    }
    facts->add(Event::exit(1'000'000 + 40 * every_ns + 1'000'000, 4, 1));
    return facts;
  };
  auto steady = run(100'000'000);
  auto nw = steady->never_woken();
  ASSERT_EQ(nw.size(), 1u);
  EXPECT_EQ(nw[0].site.gopc, LeakScenario::kGopcA);
  EXPECT_EQ(nw[0].goids.size(), 40u);
  EXPECT_GE(nw[0].alive_to - nw[0].alive_from, 20);
  EXPECT_EQ(steady->value(Quantity::kNeverWoken, {}), 40);
  EXPECT_TRUE(run(10)->never_woken().empty());  // a burst: 40 within 0.4 µs of a ~1 ms recording
}

}  // namespace
}  // namespace gorepro::replay
