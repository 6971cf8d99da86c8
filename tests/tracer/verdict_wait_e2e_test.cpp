// Leak verdicts (record's heap scan of the stopped program at its exit) against ground truth in
// the sources. tests/go/verdictwait ends with every goroutine it started blocked on something
// that can still wake it — sleeps, the netpoller, a live ticker, channels a live goroutine or a
// global holds, a Mutex main holds — and its `// mark:` comments say which verdict each gets:
// none may be called leaked. (The examples' `// want leak:` goroutines are held to `leaked` in
// record_e2e_test.cpp, on the recordings that test makes anyway.)
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "common/marks.h"
#include "replay/trace_reader.h"
#include "support/go_programs.h"
#include "support/run.h"
#include "support/scratch.h"

namespace gorepro {
namespace {

using testing::run;

class VerdictWait : public ::testing::TestWithParam<std::string> {};

TEST_P(VerdictWait, NoGoroutineThatCanStillWakeIsCalledLeaked) {
  const std::string version = GetParam();
  const std::string binary = testing::go_program("verdictwait", version, false);
  const std::string trace = testing::scratch_file("verdict", "verdictwait_" + testing::go_version_name(version) + ".gtr");
  auto rec = run({testing::gorepro_binary(), "record", "-q", "-o", trace, "--", binary});
  ASSERT_EQ(rec.exit_code, 0) << rec.err;
  EXPECT_NE(rec.err.find("verdicts: 0 goroutines leaked"), std::string::npos) << rec.err;

  const std::string source = testing::go_source_dir("tests/go/verdictwait/main.go");
  const auto lines = testing::read_marked_lines(source);
  // mark → (goroutines, the verdict they get): the program's own comment says why.
  const std::map<std::string, std::pair<int, std::string>> want = {
      {"sleepers", {3, "time_io"}}, {"netread", {1, "time_io"}},  {"holder", {1, "time_io"}},
      {"workers", {4, "may_wake"}}, {"ticker", {1, "time_io"}},  {"global", {1, "may_wake"}},
      {"gate", {1, "may_wake"}},
  };
  auto rep = run({testing::gorepro_binary(), "report", "--json", trace});
  ASSERT_EQ(rep.exit_code, 0) << rep.err;
  auto j = nlohmann::json::parse(rep.out);
  ASSERT_FALSE(j["verdicts"].is_null()) << "the trace carries no verdicts: " << rec.err;
  EXPECT_EQ(j["verdicts"]["leaked"], 0) << rep.out;
  std::map<std::string, int> seen;
  for (const auto& g : j["groups"]) {
    std::string mark;
    for (const auto& [name, line] : lines) {
      if (g["creation_site"]["file"] == source && g["creation_site"]["line"] == line) mark = name;
    }
    ASSERT_FALSE(mark.empty()) << "a goroutine the program did not start: " << g.dump();
    for (const auto& m : g["goroutines"]) {
      EXPECT_EQ(m["verdict"], want.at(mark).second) << mark << ": " << m.dump();
      EXPECT_FALSE(m["verdict_evidence"].get<std::string>().empty()) << m.dump();
      seen[mark]++;
    }
  }
  for (const auto& [mark, w] : want) EXPECT_EQ(seen[mark], w.first) << mark << "\n" << rep.out;
  // What reached the workers' channel: the stack of the goroutine that holds it.
  for (const auto& g : j["groups"]) {
    if (g["creation_site"]["line"] != lines.at("workers")) continue;
    EXPECT_NE(g["verdict_evidence"].get<std::string>().find("stack of goroutine"), std::string::npos) << g.dump();
  }

  // check counts leaked goroutines when the trace has verdicts; --count alive, every one alive.
  auto ok = run({testing::gorepro_binary(), "check", "--max-leaked", "0", trace});
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  auto alive = run({testing::gorepro_binary(), "check", "--max-leaked", "0", "--count", "alive", trace});
  EXPECT_EQ(alive.exit_code, 1) << alive.out << alive.err;
  auto pred = run({testing::gorepro_binary(), "check", "--fail-if", "leaked>0", trace});
  EXPECT_EQ(pred.exit_code, 0) << pred.out << pred.err;

}

INSTANTIATE_TEST_SUITE_P(Versions, VerdictWait, ::testing::ValuesIn(testing::built_go_versions()),
                         [](const auto& info) { return testing::go_version_name(info.param); });

// --no-verdict: no scan, no verdicts in the trace; check counts every goroutine alive as before.
// What the flag does depends on no Go version: the newest only.
TEST(Verdict, NoVerdictSkipsTheScan) {
  const std::string version = testing::newest_go_version();
  if (const char* only = std::getenv("GOREPRO_TEST_GO"); only && *only && version != only) {
    GTEST_SKIP() << "runs on the newest Go only (" << version << ")";
  }
  const std::string binary = testing::go_program("verdictwait", version, false);
  const std::string plain = testing::scratch_file("verdict", "verdictwait_plain.gtr");
  auto rec2 = run({testing::gorepro_binary(), "record", "-q", "--no-verdict", "-o", plain, "--", binary});
  ASSERT_EQ(rec2.exit_code, 0) << rec2.err;
  EXPECT_EQ(rec2.err.find("verdicts:"), std::string::npos) << rec2.err;
  auto reader = replay::TraceReader::open(plain);
  ASSERT_TRUE(reader) << reader.error().message();
  EXPECT_FALSE((*reader)->verdicts().has_value());
  EXPECT_EQ(run({testing::gorepro_binary(), "check", "--max-leaked", "0", plain}).exit_code, 1);
}

}  // namespace
}  // namespace gorepro
