// `gorepro repro` end to end, on every supported Go version: it forces each intermittent
// example's leak (examples/race*, `// may leak:` marks) within a bounded number of runs and
// names the marked go statement; the seed it prints makes the leak happen again; `--until`
// ignores leaks it does not ask about; a program that never leaks ends with exit 1 and nothing
// kept; and the program's output bytes and exit status are its own.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "common/marks.h"
#include "support/go_programs.h"
#include "support/run.h"
#include "support/scratch.h"

namespace gorepro {
namespace {

namespace fs = std::filesystem;

// Runs allowed to find each example's leak. Measured (docs/repro.md): a perturbed run leaks in
// about one of 3–5, so 40 misses in a row would be a broken perturbation, not bad luck; plain
// reruns leak in 0–5% of runs.
constexpr int kSearchRuns = 40;
// Reruns of a found seed: it reproduces in some of them, not all (docs/repro.md). With 8, all
// three examples' seeds missed once on go1.26 under load; a replay stops at its first leak, so
// more reruns cost time only when a seed does not replay.
constexpr int kSeedRuns = 20;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string version_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string v = info.param;
  v.erase(std::remove(v.begin(), v.end(), '.'), v.end());
  return "go" + v;
}

testing::RunResult repro(const std::vector<std::string>& args, const std::string& dir,
                         const std::vector<std::string>& command) {
  std::vector<std::string> argv = {testing::gorepro_binary(), "repro", "-q", "-o", dir};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("--");
  argv.insert(argv.end(), command.begin(), command.end());
  return testing::run(argv);
}

class Repro : public ::testing::TestWithParam<std::string> {};

TEST_P(Repro, ForcesEachIntermittentLeakAndItsSeedReplaysIt) {
  const std::string v = GetParam();
  ASSERT_GE(testing::example_names(true).size(), 3u);
  int seeds_replayed = 0;
  for (const std::string& example : testing::example_names(true)) {
    SCOPED_TRACE(example);
    auto marks = testing::read_leak_marks(testing::go_source_dir("examples/" + example));
    ASSERT_EQ(marks.size(), 1u);
    ASSERT_TRUE(marks[0].may);
    const std::string site = fmt::format("main.go:{}", marks[0].line);
    const std::string dir = testing::scratch_file("repro", fmt::format("{}-{}", example, v));
    const std::string program = testing::go_program(example, v, false);
    auto r = repro({"--runs", std::to_string(kSearchRuns)}, dir, {program});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find(site), std::string::npos) << "the report names the marked go statement\n" << r.out;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(r.out, m, std::regex(R"(replay this perturbation: gorepro repro --seed (\d+) -- )")))
        << r.out;
    const std::string seed = m[1].str();
    EXPECT_TRUE(fs::exists(fs::path(dir) / fmt::format("repro-{}.gtr", seed)));
    EXPECT_TRUE(fs::exists(fs::path(dir) / fmt::format("repro-{}.stdout", seed)));
    // The kept trace says the same as the search did, to `check`.
    auto check = testing::run({testing::gorepro_binary(), "check", (fs::path(dir) / fmt::format("repro-{}.gtr", seed)).string(),
                               "--fail-if", "site=" + site + " leaked>0"});
    EXPECT_EQ(check.exit_code, 1) << check.out << check.err;

    // A found seed replays the leak often, not always (docs/repro.md: the holds repeat, the OS
    // schedule around them does not; a search also finds seeds where jitter did the work). One
    // printed as confirmed reproduced 3 times of 3 already: it must do so again within the reruns.
    const bool confirmed = r.out.find("confirmed: seed " + seed + " reproduced 3/3") != std::string::npos;
    const std::string again = dir + "-seed";
    auto replayed = repro({"--seed", seed, "--runs", std::to_string(kSeedRuns), "--until", "site=" + site}, again,
                          {program});
    EXPECT_TRUE(replayed.exit_code == 0 || replayed.exit_code == 1) << replayed.out << replayed.err;
    if (confirmed) {
      EXPECT_EQ(replayed.exit_code, 0) << "a confirmed seed did not replay\n" << r.out << replayed.out;
    }
    if (replayed.exit_code == 0) {
      seeds_replayed++;
      EXPECT_NE(replayed.out.find("(seed " + seed + ","), std::string::npos) << replayed.out;
    }
    fs::remove_all(dir);
    fs::remove_all(again);
  }
  EXPECT_GE(seeds_replayed, 1) << "no example's printed seed reproduced its leak in " << kSeedRuns << " runs";
}

TEST_P(Repro, UntilSiteIgnoresALeakAtAnotherSite) {
  const std::string v = GetParam();
  auto marks = testing::read_leak_marks(testing::go_source_dir("examples/sendleak"));
  ASSERT_EQ(marks.size(), 1u);
  const std::string program = testing::go_program("sendleak", v, false);
  const std::string dir = testing::scratch_file("repro", "sendleak-" + v);
  // sendleak leaks at its marked line in every run; main.go:1 is no go statement.
  auto other = repro({"--runs", "2", "--until", "site=main.go:1"}, dir, {program});
  EXPECT_EQ(other.exit_code, 1) << other.out << other.err;
  EXPECT_NE(other.out.find("did not hold in 2 perturbed runs"), std::string::npos) << other.out;
  EXPECT_NE(other.out.find("2 with a leak"), std::string::npos) << other.out;
  EXPECT_FALSE(fs::exists(dir)) << "nothing is kept when nothing was found";
  auto same = repro({"--runs", "2", "--until", fmt::format("site=main.go:{} reason='chan send'", marks[0].line)}, dir,
                    {program});
  EXPECT_EQ(same.exit_code, 0) << same.out << same.err;
  EXPECT_NE(same.out.find("reproduced on run 1 of 2"), std::string::npos) << same.out;
  fs::remove_all(dir);
}

TEST_P(Repro, AProgramThatNeverLeaksEndsWithExit1AndNothingKept) {
  const std::string v = GetParam();
  const std::string dir = testing::scratch_file("repro", "noleak-" + v);
  auto r = repro({"--runs", "2"}, dir, {testing::go_program("noleak", v, false)});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("'leaked>0' did not hold in 2 perturbed runs"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0 with a leak"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(dir));
}

INSTANTIATE_TEST_SUITE_P(Versions, Repro, ::testing::ValuesIn(testing::built_go_versions()), version_name);

// Output bytes, exit status and signals are the program's own under perturbation: the kept
// stdout and stderr equal a native run's, byte for byte. Not Go-version dependent: newest only.
TEST(ReproTarget, OutputExitStatusAndSignalsAreUntouched) {
  const std::string v = testing::newest_go_version();
  if (const char* only = std::getenv("GOREPRO_TEST_GO"); only && *only && v != only) {
    GTEST_SKIP() << "runs with the newest Go only (" << v << ")";
  }
  // stderrwriter: heavy, binary stderr; sigtest: finishes only if SIGURG and SIGUSR1 arrive;
  // exitcode: status 7.
  for (const char* name : {"stderrwriter", "sigtest", "exitcode"}) {
    SCOPED_TRACE(name);
    const std::string program = testing::go_program(name, v, false);
    auto native = testing::run({program});
    const std::string dir = testing::scratch_file("repro", std::string("untouched-") + name);
    for (int seed : {1, 2}) {
      auto r = repro({"--seed", std::to_string(seed), "--until", "created>0"}, dir, {program});
      ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
      EXPECT_EQ(slurp(fmt::format("{}/repro-{}.stdout", dir, seed)), native.out);
      EXPECT_EQ(slurp(fmt::format("{}/repro-{}.stderr", dir, seed)), native.err);
      EXPECT_NE(r.out.find(fmt::format("the program exited with status {}", native.exit_code)), std::string::npos)
          << r.out;
    }
    fs::remove_all(dir);
  }
}

// The programs running from `path` now (their /proc/PID/exe).
int processes_running(const std::string& path) {
  int n = 0;
  const fs::path target = fs::weakly_canonical(path);
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    std::error_code ignored;
    if (fs::read_symlink(e.path() / "exe", ignored) == target) n++;
  }
  return n;
}

// The newest Go only, here and below: the parallel runs and the `go test -c` recipe are process
// plumbing and a way of building a program, which no Go version changes; the forcing itself is
// covered per version by Repro above.
bool newest_only(std::string& v) {
  v = testing::newest_go_version();
  const char* only = std::getenv("GOREPRO_TEST_GO");
  return !(only && *only && v != only);
}

TEST(ReproJobs, TwoJobsFindALeakPrintASeedThatReplaysItAndStopTheOtherRun) {
  std::string v;
  if (!newest_only(v)) GTEST_SKIP() << "runs with the newest Go only (" << v << ")";
  auto marks = testing::read_leak_marks(testing::go_source_dir("examples/racetimeout"));
  ASSERT_EQ(marks.size(), 1u);
  const std::string site = fmt::format("main.go:{}", marks[0].line);
  const std::string program = testing::go_program("racetimeout", v, false);
  const std::string dir = testing::scratch_file("repro", "jobs-" + v);
  auto r = repro({"--jobs", "2", "--runs", std::to_string(kSearchRuns), "-v"}, dir, {program});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(site), std::string::npos) << r.out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex(R"(reproduced on run (\d+) of \d+ \(seed (\d+),)"))) << r.out;
  const std::string run = m[1].str(), seed = m[2].str();
  // Each finished run is reported once with its own number and seed, in whatever order they
  // finished; the winner among them with the seed the summary names.
  std::set<std::string> numbers, seeds;
  const std::regex line(R"(gorepro repro: run (\d+) seed (\d+): (HOLDS|no))");
  for (auto it = std::sregex_iterator(r.err.begin(), r.err.end(), line); it != std::sregex_iterator(); ++it) {
    EXPECT_TRUE(numbers.insert((*it)[1].str()).second) << "run " << (*it)[1] << " reported twice\n" << r.err;
    EXPECT_TRUE(seeds.insert((*it)[2].str()).second) << "seed " << (*it)[2] << " used twice\n" << r.err;
    if ((*it)[1].str() == run) {
      EXPECT_EQ((*it)[2].str(), seed) << r.err;
    }
  }
  EXPECT_TRUE(numbers.count(run)) << r.err;
  // The run still under way was stopped: its program killed, its files gone; only the
  // winner's three files are left (and an earlier run's whose seed did not confirm, if any).
  EXPECT_EQ(processes_running(program), 0);
  std::vector<std::string> left, want;
  for (const auto& e : fs::directory_iterator(dir)) left.push_back(e.path().filename().string());
  std::sort(left.begin(), left.end());
  for (const std::string& s : {seed, std::regex_search(r.out, m, std::regex(R"(also kept: .*\(seed (\d+),)")) ? m[1].str() : ""}) {
    if (s.empty()) continue;
    for (const char* ext : {".gtr", ".stderr", ".stdout"}) want.push_back("repro-" + s + ext);
  }
  std::sort(want.begin(), want.end());
  EXPECT_EQ(left, want) << r.out;
  fs::remove_all(dir);
  auto replayed = repro({"--seed", seed, "--runs", std::to_string(kSeedRuns), "--jobs", "2", "--until", "site=" + site},
                        dir, {program});
  EXPECT_EQ(replayed.exit_code, 0) << "the printed seed did not replay the leak in " << kSeedRuns << " runs\n"
                                   << replayed.out << replayed.err;
  EXPECT_EQ(processes_running(program), 0);
  fs::remove_all(dir);
}

// --confirm on a program that leaks exactly in the runs its PATTERN names (tests/go/leakpattern),
// so which seeds reproduce when is known in advance: a seed is printed as confirmed only once its
// confirm runs all reproduced; a seed that did not confirm is kept (trace and all) and named; the
// counts of runs and confirm runs are the runs made. Process plumbing no Go version changes:
// newest Go only.
TEST(ReproConfirm, PrintsASeedOnlyOnceItsConfirmRunsReproducedAndKeepsTheFirstFindAnyway) {
  std::string v;
  if (!newest_only(v)) GTEST_SKIP() << "runs with the newest Go only (" << v << ")";
  const std::string program = testing::go_program("leakpattern", v, false);
  const std::string counter = testing::scratch_file("repro", "confirm-counter");
  const std::string dir = testing::scratch_file("repro", "confirm");
  auto seed_of_run = [](const std::string& err, int run) {
    std::smatch m;
    const std::string text = err;
    const std::regex line(fmt::format(R"(gorepro repro: run {} seed (\d+))", run));
    return std::regex_search(text, m, line) ? m[1].str() : "";
  };
  {
    // Runs 1, 3 and 4 leak: run 1 is found, its confirm run 2 misses; run 3 is found and its
    // confirm run 4 reproduces.
    fs::remove(counter);
    auto r = repro({"--confirm", "1", "--runs", "6", "-v"}, dir, {program, counter, "1011"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    const std::string s1 = seed_of_run(r.err, 1), s3 = seed_of_run(r.err, 3);
    ASSERT_FALSE(s1.empty() || s3.empty()) << r.err;
    EXPECT_NE(r.err.find(fmt::format("run 2 seed {} (confirming): no", s1)), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(fmt::format("run 4 seed {} (confirming): HOLDS", s3)), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("run 5 "), std::string::npos) << "the search ends once a seed confirmed\n" << r.err;
    EXPECT_NE(r.out.find(fmt::format("reproduced on run 3 of 6 (seed {},", s3)), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(fmt::format("confirmed: seed {} reproduced 2/2", s3)), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("4 runs in all, 2 of them confirm runs"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(fmt::format("also kept: the first run that held, run 1 (seed {}, reproduced 1/2)", s1)),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find(fmt::format("replay this perturbation: gorepro repro --seed {} -- ", s3)), std::string::npos)
        << r.out;
    for (const std::string& s : {s1, s3}) {
      EXPECT_TRUE(fs::exists(fs::path(dir) / fmt::format("repro-{}.gtr", s))) << s;
      EXPECT_TRUE(fs::exists(fs::path(dir) / fmt::format("repro-{}.stdout", s))) << s;
    }
    EXPECT_EQ(slurp(counter), "4") << "exactly 4 runs of the program";
    fs::remove_all(dir);
  }
  {
    // Run 1 leaks, its confirm run 2 does not, and the runs are spent: the first find is still
    // the answer (exit 0, its trace kept), marked as not confirmed.
    fs::remove(counter);
    auto r = repro({"--confirm", "3", "--runs", "2"}, dir, {program, counter, "10"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(r.out, m, std::regex(R"(reproduced on run 1 of 2 \(seed (\d+),)"))) << r.out;
    EXPECT_NE(r.out.find(fmt::format("NOT confirmed: seed {} reproduced 1/2", m[1].str())), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("2 runs in all, 1 of them confirm runs"), std::string::npos) << r.out;
    EXPECT_TRUE(fs::exists(fs::path(dir) / fmt::format("repro-{}.gtr", m[1].str())));
    fs::remove_all(dir);
  }
  {
    // --confirm 0: the first find is printed at once.
    fs::remove(counter);
    auto r = repro({"--confirm", "0", "--runs", "3"}, dir, {program, counter, "1"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("reproduced on run 1 of 3"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("confirmed: seed"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("  1 run in all\n"), std::string::npos) << r.out;
    EXPECT_EQ(slurp(counter), "1");
    fs::remove_all(dir);
  }
}

// `go test -c` binaries are ordinary programs: the recipe of docs/repro.md on examples/hedgetest.
TEST(ReproTestBinary, GoTestCBinaryLeakIsFoundAtItsMarkedSite) {
  std::string v;
  if (!newest_only(v)) GTEST_SKIP() << "runs with the newest Go only (" << v << ")";
  auto marks = testing::read_leak_marks(testing::go_source_dir("examples/hedgetest"));
  ASSERT_EQ(marks.size(), 1u);
  ASSERT_TRUE(marks[0].may);
  const std::string site = fmt::format("{}:{}", fs::path(marks[0].file).filename().string(), marks[0].line);
  const std::string program = testing::go_program("hedgetest.test", v, false);
  const std::string dir = testing::scratch_file("repro", "hedgetest-" + v);
  auto r = repro({"--runs", std::to_string(kSearchRuns)}, dir, {program, "-test.run", "^TestLookup$", "-test.count=1"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(site), std::string::npos) << "the report names the marked go statement\n" << r.out;
  EXPECT_NE(r.out.find("-- " + program + " -test.run '^TestLookup$' -test.count=1"), std::string::npos)
      << "the replay command keeps the test's flags\n" << r.out;
  // The test passed: the leak is found in the trace, not in the test's verdict.
  EXPECT_NE(r.out.find("the program exited with status 0"), std::string::npos) << r.out;
  fs::remove_all(dir);
}

TEST(ReproUsage, BadInputIsOneLineAndExit2) {
  auto none = testing::run({testing::gorepro_binary(), "repro"});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("no program to run"), std::string::npos) << none.err;
  auto bad = testing::run({testing::gorepro_binary(), "repro", "--until", "leaked>>0", "--", "/bin/true"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(std::count(bad.err.begin(), bad.err.end(), '\n'), 1) << bad.err;
  EXPECT_NE(bad.err.find("column 8"), std::string::npos) << bad.err;
  auto jobs = testing::run({testing::gorepro_binary(), "repro", "--jobs", "0", "--", "/bin/true"});
  EXPECT_EQ(jobs.exit_code, 2);
  EXPECT_NE(jobs.err.find("--jobs 0"), std::string::npos) << jobs.err;
  auto confirm = testing::run({testing::gorepro_binary(), "repro", "--confirm", "99", "--", "/bin/true"});
  EXPECT_EQ(confirm.exit_code, 2);
  EXPECT_NE(confirm.err.find("--confirm 99"), std::string::npos) << confirm.err;
}

}  // namespace
}  // namespace gorepro
