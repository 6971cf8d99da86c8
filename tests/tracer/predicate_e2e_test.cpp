// `gorepro check --fail-if` on real recordings: the grammar repro and record triggers share,
// held against the examples' `// want leak:` marks (N goroutines alive at exit per go
// statement) for every supported Go version — never against gorepro's own output.
#include <gtest/gtest.h>

#include <filesystem>

#include <fmt/format.h>

#include "common/marks.h"
#include "support/go_programs.h"
#include "support/run.h"
#include "support/scratch.h"

namespace gorepro {
namespace {

namespace fs = std::filesystem;

int check(const std::string& trace, const std::string& condition) {
  auto r = testing::run({testing::gorepro_binary(), "check", trace, "--fail-if", condition});
  EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1) << condition << ": " << r.err;
  return r.exit_code;
}

class CheckFailIf : public ::testing::TestWithParam<std::string> {};

TEST_P(CheckFailIf, HoldsExactlyAtTheMarkedCountsPerGoStatement) {
  const std::string version = GetParam();
  for (const char* example : {"sendleak", "nestedleak", "noleak"}) {
    SCOPED_TRACE(example);
    const std::string trace = testing::scratch_file("predicate", fmt::format("{}-{}.gtr", example, version));
    // --no-verdict: `leaked` then means blocked at exit, which is what the leak marks count;
    // with verdicts it counts only what can never wake (tests/verdict holds that), and
    // nestedleak's goroutines that also wait on a global channel may still wake.
    auto rec = testing::run({testing::gorepro_binary(), "record", "-q", "--no-verdict", "-o", trace, "--",
                             testing::go_program(example, version, false)});
    ASSERT_EQ(rec.exit_code, 0) << rec.err;
    auto marks = testing::read_leak_marks(testing::go_source_dir(std::string("examples/") + example));
    int total = 0;
    for (const auto& m : marks) {
      const std::string site = fmt::format("site={}:{}", fs::path(m.file).filename().string(), m.line);
      EXPECT_EQ(check(trace, fmt::format("{} alive>={}", site, m.count)), 1) << site;
      EXPECT_EQ(check(trace, fmt::format("{} alive>{}", site, m.count)), 0) << site;
      EXPECT_EQ(check(trace, fmt::format("{} leaked=={}", site, m.count)), 1) << site;  // all of them blocked
      EXPECT_EQ(check(trace, site), 1) << site;
      total += m.count;
    }
    EXPECT_EQ(check(trace, "leaked>0"), total > 0 ? 1 : 0);
    EXPECT_EQ(check(trace, fmt::format("leaked=={}", total)), 1);
    EXPECT_EQ(check(trace, fmt::format("live>={} and leaked=={}", total, total)), 1);
    EXPECT_EQ(check(trace, "site=nosuchfile.go:1"), 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Versions, CheckFailIf, ::testing::ValuesIn(testing::built_go_versions()),
                         [](const auto& info) {
                           std::string v = info.param;
                           v.erase(std::remove(v.begin(), v.end(), '.'), v.end());
                           return "go" + v;
                         });

TEST(CheckFailIf, ABadConditionIsAUsageErrorNamingTheWord) {
  const std::string trace = testing::scratch_file("predicate", "bad.gtr");
  auto rec = testing::run({testing::gorepro_binary(), "record", "-q", "-o", trace, "--",
                           testing::go_program("sendleak", testing::built_go_versions().back(), false)});
  ASSERT_EQ(rec.exit_code, 0) << rec.err;
  auto r = testing::run({testing::gorepro_binary(), "check", trace, "--fail-if", "leaked>>0"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("'>' at column 8"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

}  // namespace
}  // namespace gorepro
