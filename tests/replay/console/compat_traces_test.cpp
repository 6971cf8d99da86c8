// Traces recorded by an earlier gorepro and checked in under tests/data (see its README) still
// open and replay. Their binaries are not checked in, so names are raw PCs: the assertions are
// on goids, event counts, kinds and wait reasons, with expected values from the examples'
// `// want leak:` marks and the `gorepro-count` lines the programs printed while recorded
// (saved next to each trace as .stdout).
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/marks.h"
#include "json_lines.h"
#include "replay/replay_test_support.h"
#include "replay/trace_reader.h"
#include "support/go_programs.h"
#include "support/run.h"

namespace gorepro::replay {
namespace {

using gorepro::testing::go_source_dir;
using gorepro::testing::gorepro_binary;
using gorepro::testing::run;
using testing::json_lines;

struct Recorded {
  std::string trace;    // under tests/data
  std::string example;  // under examples/
};

std::string data_path(const std::string& file) { return go_source_dir("tests/data/" + file); }

std::map<int, int> printed_counts(const std::string& stdout_file) {
  std::ifstream in(stdout_file);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string out = ss.str();
  std::map<int, int> counts;
  std::regex re(R"(gorepro-count main\.go:(\d+) (\d+))");
  for (std::sregex_iterator it(out.begin(), out.end(), re), e; it != e; ++it)
    counts[std::stoi((*it)[1])] = std::stoi((*it)[2]);
  return counts;
}

class CheckedInTrace : public ::testing::TestWithParam<Recorded> {};

TEST_P(CheckedInTrace, OpensCompleteWithItsHeader) {
  auto reader = TraceReader::open(data_path(GetParam().trace + ".gtr"));
  ASSERT_TRUE(reader.ok()) << reader.error().message();
  EXPECT_TRUE((*reader)->has_end_marker());
  EXPECT_TRUE((*reader)->warnings().empty());
  EXPECT_FALSE((*reader)->header().tool_version.empty());
  EXPECT_TRUE((*reader)->header().go_version.starts_with("go1."));
  EXPECT_GT((*reader)->event_count(), 0u);
}

TEST_P(CheckedInTrace, ReplaysEveryMarkedSiteToItsGoroutinesAndWaitReasons) {
  const std::string trace = data_path(GetParam().trace + ".gtr");
  const auto counts = printed_counts(data_path(GetParam().trace + ".stdout"));
  const auto marks = gorepro::testing::read_leak_marks(go_source_dir("examples/" + GetParam().example));
  ASSERT_FALSE(marks.empty());
  auto reader = TraceReader::open(trace);
  ASSERT_TRUE(reader.ok());

  auto r = run({gorepro_binary(), "replay", trace, "--json", "-x", "goto end; sites"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("raw PCs"), std::string::npos) << "the binary is not checked in: " << r.err;
  const auto sites = json_lines(r.out).at(1)["sites"];
  for (const auto& mark : marks) {
    SCOPED_TRACE(fmt::format("mark at main.go:{}", mark.line));
    ASSERT_TRUE(counts.count(mark.line));
    // Without symbols the site is its raw PC: find it by what the program and the mark say.
    std::vector<std::string> pcs;
    for (const auto& s : sites)
      if (s["created"] == counts.at(mark.line) && s["alive"] == mark.count)
        pcs.push_back(s["creation_site"]["function"]);
    ASSERT_EQ(pcs.size(), 1u) << sites.dump();
    const uint64_t gopc = std::stoull(pcs[0], nullptr, 16);

    // The trace's own creations there, in order, by reading the file directly.
    std::vector<uint64_t> created_there;
    auto cursor = (*reader)->cursor(0);
    for (Event e; cursor.next(e);)
      if (e.kind == EventKind::Create && e.pc == gopc) created_there.push_back(e.goid);
    ASSERT_EQ(created_there.size(), static_cast<size_t>(counts.at(mark.line)));

    std::string script;
    for (size_t k = 0; k < created_there.size(); ++k) script += fmt::format("next create ^{}$;", pcs[0]);
    script += fmt::format("goroutines --site ^{}$ --state waiting", pcs[0]);
    r = run({gorepro_binary(), "replay", trace, "--json", "-x", script});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto lines = json_lines(r.out);
    ASSERT_EQ(lines.size(), created_there.size() + 1);
    for (size_t k = 0; k < created_there.size(); ++k)
      EXPECT_EQ(lines[k]["event"]["goid"], created_there[k]) << "creation " << k + 1;

    // At the last creation there, the goroutines already waiting all wait as the mark says.
    uint64_t waiting = 0;
    for (const auto& g : lines.back()["report"]["groups"]) {
      EXPECT_TRUE(mark.accepts(g["wait_reason"].get<std::string>())) << g.dump();
      waiting += g["alive"].get<uint64_t>();
    }
    EXPECT_LE(waiting, static_cast<uint64_t>(mark.count));

    // A goroutine left alive at the end: its history ends in a park for the marked reason.
    r = run({gorepro_binary(), "replay", trace, "--json", "-x",
             fmt::format("goto end; goroutines --site ^{}$", pcs[0])});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const uint64_t leaked = json_lines(r.out).at(1)["report"]["groups"].at(0)["goids"].at(0);
    r = run({gorepro_binary(), "replay", trace, "--json", "-x", fmt::format("goroutine {}", leaked)});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto history = json_lines(r.out).at(0)["events"];
    EXPECT_EQ(history.front()["kind"], "create");
    EXPECT_EQ(history.back()["kind"], "park");
    EXPECT_TRUE(mark.accepts(history.back()["wait_reason"].get<std::string>())) << history.back().dump();
  }
}

TEST_P(CheckedInTrace, SeekingFromCheckpointsLaidWhileOpeningGivesTheTablesOfStepping) {
  testing::expect_seeks_match_stepping(data_path(GetParam().trace + ".gtr"), 4);
}

INSTANTIATE_TEST_SUITE_P(TestData, CheckedInTrace,
                         ::testing::Values(Recorded{"sendleak-go1.22", "sendleak"},
                                           Recorded{"nestedleak-go1.22", "nestedleak"}),
                         [](const auto& info) {
                           std::string n = info.param.trace;
                           std::erase_if(n, [](char c) { return c == '-' || c == '.'; });
                           return n;
                         });

}  // namespace
}  // namespace gorepro::replay
