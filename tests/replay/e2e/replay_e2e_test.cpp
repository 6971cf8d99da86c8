// `gorepro replay` and `gorepro diff` over traces recorded from real Go programs, every Go
// version built, as CI would use them: scripts with --json, asserting on what the programs'
// sources (`// want leak:`, `// mark:`) and output (`gorepro-count` lines) say — never on
// gorepro's own earlier output.
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <regex>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/marks.h"
#include "replay/event_search.h"
#include "replay/replay_test_support.h"
#include "replay/trace_reader.h"
#include "replay/console/json_lines.h"
#include "support/go_programs.h"
#include "support/run.h"

namespace gorepro {
namespace {

namespace fs = std::filesystem;
using testing::go_program;
using testing::gorepro_binary;
using testing::run;
using replay::testing::json_lines;

std::string temp_trace(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / fmt::format("gorepro-replay-e2e-{}", getpid());
  fs::create_directories(dir);
  return (dir / (name + ".gtr")).string();
}

// Records a program; returns its stdout (the program's own, passed through).
std::string record(const std::string& trace, std::vector<std::string> program) {
  std::vector<std::string> argv = {gorepro_binary(), "record", "-q", "-o", trace, "--"};
  argv.insert(argv.end(), program.begin(), program.end());
  auto r = run(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

std::string version_name(const ::testing::TestParamInfo<std::string>& info) { return testing::go_version_name(info.param); }

class ReplayRecorded : public ::testing::TestWithParam<std::string> {};

TEST_P(ReplayRecorded, KthCreationAtTheMarkedSiteIsTheKthGoroutineCreatedThereAndItsParkMatchesTheMark) {
  for (bool stripped : {false, true}) {
    SCOPED_TRACE(stripped ? "stripped" : "plain");
    const std::string trace = temp_trace(fmt::format("sendleak-{}{}", GetParam(), stripped ? "-s" : ""));
    std::string out = record(trace, {go_program("sendleak", GetParam(), stripped)});
    auto marks = testing::read_leak_marks(testing::go_source_dir("examples/sendleak"));
    ASSERT_EQ(marks.size(), 1u);
    const auto& mark = marks[0];
    std::smatch m;
    ASSERT_TRUE(std::regex_search(out, m, std::regex(fmt::format(R"(gorepro-count main\.go:{} (\d+))", mark.line))))
        << out;
    const int created = std::stoi(m[1]);

    // Step to every creation at the site, then one more (which must fail: exit 1).
    std::string script;
    for (int k = 0; k <= created; ++k) script += fmt::format("next create main.go:{};", mark.line);
    auto r = run({gorepro_binary(), "replay", trace, "--json", "-x", script});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find(fmt::format("no create at main.go:{}", mark.line)), std::string::npos) << r.err;
    auto lines = json_lines(r.out);
    ASSERT_EQ(lines.size(), static_cast<size_t>(created));
    // Go numbers goroutines in creation order, so the k-th one created at the site has the
    // k-th smallest goid of those the trace shows created there.
    auto reader = replay::TraceReader::open(trace);
    ASSERT_TRUE(reader.ok());
    std::vector<uint64_t> goids;
    for (const auto& l : lines) {
      EXPECT_EQ(l["event"]["kind"], "create");
      EXPECT_EQ(l["event"]["creation_site"]["line"], mark.line);
      EXPECT_TRUE(l["event"]["creation_site"]["file"].get<std::string>().ends_with("sendleak/main.go"));
      goids.push_back(l["event"]["goid"]);
    }
    std::vector<uint64_t> sorted = goids;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(goids, sorted);
    EXPECT_EQ(std::adjacent_find(goids.begin(), goids.end()), goids.end());

    // Each goroutine's history: exactly mark.count of them end parked in the marked reason.
    std::string histories = "goto end;";
    for (uint64_t g : goids) histories += fmt::format("goroutine {};", g);
    r = run({gorepro_binary(), "replay", trace, "--json", "-x", histories});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    int leaked = 0;
    auto replies = json_lines(r.out);
    ASSERT_EQ(replies.size(), goids.size() + 1);
    for (const auto& h : std::vector(replies.begin() + 1, replies.end())) {
      const auto& events = h["events"];
      ASSERT_FALSE(events.empty());
      EXPECT_EQ(events.front()["kind"], "create");
      const auto& last = events.back();
      if (last["kind"] == "park" && mark.accepts(last["wait_reason"].get<std::string>())) {
        ++leaked;
        EXPECT_FALSE(last["block_stack"].empty());
        EXPECT_TRUE(h["state"].get<std::string>().starts_with("waiting")) << h.dump();
      }
    }
    EXPECT_EQ(leaked, mark.count);
  }
}

TEST_P(ReplayRecorded, PrevAfterNextReturnsToTheSameEvent) {
  const std::string trace = temp_trace("sendleak-walk-" + GetParam());
  record(trace, {go_program("sendleak", GetParam(), false)});
  auto r = run({gorepro_binary(), "replay", trace, "--json", "-x",
                "next 3; where; next 9; prev 9; where; next park; next park; prev park; next create; prev; next; where"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 12u);
  EXPECT_EQ(lines[1], lines[4]);
  EXPECT_EQ(lines[5]["event"]["kind"], "park");
  EXPECT_EQ(lines[7]["event"], lines[5]["event"]) << "prev park after two next parks: the first one";
  EXPECT_EQ(lines[8]["event"]["kind"], "create");
  auto without_stack = lines[11]["event"];
  without_stack.erase("creation_stack");
  EXPECT_EQ(without_stack, lines[8]["event"]);
}

TEST_P(ReplayRecorded, SeekingFromCheckpointsLaidWhileOpeningGivesTheTablesOfStepping) {
  const std::string trace = temp_trace("probetarget-" + GetParam());
  record(trace, {go_program("probetarget", GetParam(), false), "-leak", "20", "-duration", "400ms"});
  auto reader = replay::TraceReader::open(trace);
  ASSERT_TRUE(reader.ok()) << reader.error().message();
  const uint64_t n = (*reader)->event_count();
  ASSERT_GT(n, 1000u) << "probetarget's traffic (400 ms of it; a very loaded machine gives fewer events)";
  // ~16 checkpoints; up to ~1500 positions checked.
  replay::testing::expect_seeks_match_stepping(trace, n / 16, std::max<uint64_t>(1, n / 1500));
}

// The leaking and fixed runs of diffleak: the diff names exactly the marked fetch site.
void expect_diff_names_the_leaking_site(const std::string& before, const std::string& after) {
  auto marks = testing::read_leak_marks(testing::go_source_dir("tests/go/diffleak/leaky"));
  ASSERT_EQ(marks.size(), 1u);
  const int pool_line = testing::read_marked_lines(testing::go_source_dir("tests/go/diffleak/leaky/leaky.go")).at("pool");
  auto r = run({gorepro_binary(), "diff", before, after, "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  int grown = 0;
  bool saw_pool = false;
  for (const auto& s : j["sites"]) {
    const int line = s["creation_site"]["line"];
    const bool in_leaky = s["creation_site"]["file"].get<std::string>().ends_with("diffleak/leaky/leaky.go");
    if (s["change"]["alive"].get<int64_t>() > 0) {
      ++grown;
      EXPECT_TRUE(in_leaky && line == marks[0].line) << s.dump();
      EXPECT_EQ(s["change"]["alive"], marks[0].count);
      EXPECT_EQ(s["before"]["created"], s["after"]["created"]) << "matched across the two runs: " << s.dump();
    }
    if (in_leaky && line == pool_line) {
      saw_pool = true;
      EXPECT_EQ(s["change"]["alive"], 0);
      EXPECT_GT(s["before"]["created"].get<int>(), 0);
      EXPECT_EQ(s["before"]["created"], s["after"]["created"]);
    }
  }
  EXPECT_EQ(grown, 1) << r.out;
  EXPECT_TRUE(saw_pool) << r.out;
  r = run({gorepro_binary(), "diff", before, after, "--fail-on-growth", "0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(fmt::format("leaky/leaky.go:{}", marks[0].line)), std::string::npos) << r.err;
  EXPECT_EQ(run({gorepro_binary(), "diff", before, after, "--fail-on-growth", std::to_string(marks[0].count)}).exit_code,
            0);
  EXPECT_EQ(run({gorepro_binary(), "diff", after, before, "--fail-on-growth", "0"}).exit_code, 0) << "fixed: shrank";
}

TEST_P(ReplayRecorded, DiffOfLeakingAndFixedRunsNamesExactlyTheLeakingSite) {
  const std::string fixed = temp_trace("diffleak-fixed-" + GetParam()), leaky = temp_trace("diffleak-" + GetParam());
  record(fixed, {go_program("diffleak", GetParam(), false), "-fixed"});
  record(leaky, {go_program("diffleak", GetParam(), false)});
  expect_diff_names_the_leaking_site(fixed, leaky);
}

TEST_P(ReplayRecorded, DiffMatchesSitesAcrossTwoBuildsWhoseAddressesDiffer) {
  const std::string fixed = temp_trace("diffleak2-fixed-" + GetParam()), leaky = temp_trace("diffleak-x-" + GetParam());
  record(fixed, {go_program("diffleak2", GetParam(), false), "-fixed"});
  record(leaky, {go_program("diffleak", GetParam(), false)});
  expect_diff_names_the_leaking_site(fixed, leaky);
  // The same go statement has another address in each build.
  auto marks = testing::read_leak_marks(testing::go_source_dir("tests/go/diffleak/leaky"));
  std::vector<uint64_t> gopcs;
  for (const auto& t : {fixed, leaky}) {
    auto r = run({gorepro_binary(), "replay", t, "--json", "-x", fmt::format("next create leaky.go:{}", marks[0].line)});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    gopcs.push_back(json_lines(r.out).at(0)["event"]["gopc"]);
  }
  EXPECT_NE(gopcs[0], gopcs[1]);
}

// Copies diffleak — and the gosite module its go.mod reaches by a relative path, to the same
// relative place — under root, and builds it there as cmake/GoPrograms.cmake does.
std::string build_diffleak_under(const fs::path& root, const std::string& version,
                                 const std::vector<std::string>& flags = {}) {
  fs::remove_all(root);
  fs::create_directories(root / "tests/go");
  fs::create_directories(root / "examples/internal");
  fs::copy(testing::go_source_dir("tests/go/diffleak"), root / "tests/go/diffleak", fs::copy_options::recursive);
  fs::copy(testing::go_source_dir("examples/internal/gosite"), root / "examples/internal/gosite",
           fs::copy_options::recursive);
  const fs::path dir = root / "tests/go/diffleak", bin = root / "diffleak";
  std::vector<std::string> argv = {"sh", "-c", "cd \"$0\" && exec \"$@\"", dir.string(), testing::go_tool(version), "build"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.insert(argv.end(), {"-o", bin.string(), "."});
  const fs::path build = fs::path(GOREPRO_GO_OUT).parent_path();
  auto r = run(argv, {"GOTOOLCHAIN=local", "GOFLAGS=-buildvcs=false", "GO111MODULE=on", "GOPROXY=off",
                      "CGO_ENABLED=0", "GOCACHE=" + (fs::path(GOREPRO_GO_CACHE) / ("go" + version)).string(),
                      "GOPATH=" + (build / "gopath").string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return bin.string();
}

std::string creation_file(const std::string& trace, int line) {
  auto r = run({gorepro_binary(), "replay", trace, "--json", "-x", fmt::format("next create leaky.go:{}", line)});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code ? "" : json_lines(r.out).at(0)["event"]["creation_site"]["file"].get<std::string>();
}

TEST_P(ReplayRecorded, DiffMatchesSitesOfOneProgramBuiltInTwoDirectoriesOrWithTrimpath) {
  const fs::path scratch = fs::path(GOREPRO_GO_OUT).parent_path() / "replay-e2e-checkouts" / ("go" + GetParam());
  const auto marks = testing::read_leak_marks(testing::go_source_dir("tests/go/diffleak/leaky"));
  ASSERT_EQ(marks.size(), 1u);
  const std::string before = temp_trace("checkout-a-" + GetParam());
  record(before, {build_diffleak_under(scratch / "a", GetParam())});
  for (const auto& [name, flags] : {std::pair{"b", std::vector<std::string>{}},
                                    std::pair{"c-trimpath", std::vector<std::string>{"-trimpath"}}}) {
    SCOPED_TRACE(name);
    const std::string after = temp_trace(fmt::format("checkout-{}-{}", name, GetParam()));
    record(after, {build_diffleak_under(scratch / name, GetParam(), flags)});
    const std::string file_before = creation_file(before, marks[0].line), file_after = creation_file(after, marks[0].line);
    ASSERT_NE(file_before, file_after) << "the two builds must record different paths";

    auto r = run({gorepro_binary(), "diff", before, after, "--format", "json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    ASSERT_FALSE(j["sites"].empty());
    bool saw_mark = false;
    for (const auto& s : j["sites"]) {
      EXPECT_GT(s["before"]["created"].get<uint64_t>(), 0u) << "new in AFTER: " << s.dump();
      EXPECT_GT(s["after"]["created"].get<uint64_t>(), 0u) << "gone from AFTER: " << s.dump();
      EXPECT_EQ(s["before"]["created"], s["after"]["created"]) << s.dump();
      EXPECT_EQ(s["change"]["alive"], 0) << s.dump();
      if (s["creation_site"]["line"] == marks[0].line && s["creation_site"]["file"] == file_after) saw_mark = true;
    }
    EXPECT_TRUE(saw_mark) << "the marked site, shown with AFTER's path: " << r.out;
    EXPECT_EQ(run({gorepro_binary(), "diff", before, after, "--fail-on-growth", "0"}).exit_code, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(GoVersions, ReplayRecorded, ::testing::ValuesIn(testing::built_go_versions()), version_name);

}  // namespace
}  // namespace gorepro
