// `gorepro report` and `gorepro check` as a user runs them: exit codes, output, JUnit file.
#include <sys/wait.h>

#include <cstdio>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "leak_scenario.h"

namespace gorepro::replay {
namespace {

using namespace testing;

struct CliRun {
  int exit_code = -1;
  std::string out;  // stdout + stderr
};

CliRun gorepro(const std::string& args) {
  CliRun r;
  FILE* p = popen(fmt::format("{} {} 2>&1", GOREPRO_BINARY, args).c_str(), "r");
  if (!p) return r;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) r.out.append(buf, n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class CheckCli : public ::testing::Test {
 protected:
  void SetUp() override { trace_ = scenario_.write("leaks.gtr"); }
  LeakScenario scenario_;
  std::string trace_;
  // The recorded binary does not exist, so every name is a raw PC: 3 groups, 9 goroutines.
  uint64_t leaked() const { return scenario_.leaked_a.size() + scenario_.leaked_b.size() + 1 + 1; }
};

TEST_F(CheckCli, ExitsOneAndPrintsTheGroupsWhenGoroutinesLeak) {
  CliRun r = gorepro("check " + trace_);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find(fmt::format("{} goroutines leaked", leaked())), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("chan send"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("raw PCs"), std::string::npos) << r.out;
}

TEST_F(CheckCli, ExitsZeroWithinMaxLeaked) {
  EXPECT_EQ(gorepro(fmt::format("check {} --max-leaked {}", trace_, leaked())).exit_code, 0);
  EXPECT_EQ(gorepro(fmt::format("check {} --max-leaked {}", trace_, leaked() - 1)).exit_code, 1);
}

TEST_F(CheckCli, IgnoreFuncAndMinAgeCanClearTheVerdict) {
  // Raw names: the go statements' PCs. Ignore both sites, the placeholder and the runtime one.
  CliRun r = gorepro(fmt::format("check {} --ignore-func '^0x401[01]05$' --ignore-func '^\\?$' --ignore-func '^0x437005$'",
                              trace_));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  // Older than the whole trace: nothing is old enough to count.
  EXPECT_EQ(gorepro(fmt::format("check {} --min-age 1h", trace_)).exit_code, 0);
}

TEST_F(CheckCli, WritesJUnitXml) {
  std::string junit = scratch_path("junit.xml");
  EXPECT_EQ(gorepro(fmt::format("check {} --junit {}", trace_, junit)).exit_code, 1);
  auto bytes = read_bytes(junit);
  std::string xml(bytes.begin(), bytes.end());
  EXPECT_NE(xml.find("<testsuite name=\"gorepro check\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("<failure"), std::string::npos) << xml;
}

TEST_F(CheckCli, ExitsTwoOnUsageAndIoErrors) {
  for (const std::string& args : {fmt::format("check {}", scratch_path("missing.gtr")),
                                  fmt::format("check {} --min-age soon", trace_),
                                  fmt::format("check {} --ignore-site nowhere", trace_),
                                  fmt::format("check {} --at 1000000", trace_),
                                  fmt::format("check {} --bogus", trace_), std::string("check")}) {
    CliRun r = gorepro(args);
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.out;
  }
  CliRun missing = gorepro("check " + scratch_path("missing.gtr"));
  EXPECT_EQ(missing.out.rfind("gorepro: cannot open trace", 0), 0u) << missing.out;
  EXPECT_NE(missing.out.find(" — "), std::string::npos) << missing.out;
}

TEST_F(CheckCli, CorruptTraceIsAnErrorNamingTheOffset) {
  auto bytes = read_bytes(trace_);
  bytes[bytes.size() - 3] ^= 0x40;
  std::string bad = scratch_path("bad.gtr");
  write_bytes(bad, bytes);
  CliRun r = gorepro("report " + bad);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("byte offset"), std::string::npos) << r.out;
}

TEST_F(CheckCli, ReportPrintsJsonAndHonoursAt) {
  CliRun r = gorepro(fmt::format("report {} --format json", trace_));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  EXPECT_EQ(j["groups"][0]["alive"], scenario_.leaked_a.size());
  CliRun at = gorepro(fmt::format("report {} --format json --at {}", trace_, scenario_.first_park_a_seq));
  ASSERT_EQ(at.exit_code, 0) << at.out;
  auto ja = nlohmann::json::parse(at.out.substr(at.out.find('{')));
  EXPECT_EQ(ja["trace"]["at_events"], scenario_.first_park_a_seq + 1);
}

}  // namespace
}  // namespace gorepro::replay
