// gorepro record --snapshot: no probes, the goroutine list read every interval. Held against
// the Go runtime's own goroutine profile taken by the program at a still instant, against the
// examples' `// want leak:` marks, and against an attached program that must run on untouched —
// on every supported Go version. Nothing expected here comes from gorepro's own output.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/marks.h"
#include "replay/trace_reader.h"
#include "support/background.h"
#include "support/go_programs.h"
#include "support/report_checks.h"
#include "support/run.h"
#include "support/scratch.h"
#include "support/trace_checks.h"
#include "support/target_text.h"

namespace gorepro {
namespace {

// A sampled trace is still a trace: no event after an exit, no park without a wake between.
void expect_well_formed(const std::string& trace) {
  auto reader = replay::TraceReader::open(trace);
  ASSERT_TRUE(reader) << reader.error().message();
  EXPECT_EQ(testing::trace_violations(**reader), "") << trace;
}

using testing::go_program;
using testing::run;

std::string temp_path(const std::string& name) { return testing::scratch_file("snapshot", name); }

// Per start function (main.* only), the goroutines of a runtime/pprof goroutine profile
// written with debug=1: "N @ pc pc ..." then one "#\t0xPC\tFUNC+0xOFF\tFILE:LINE" per frame,
// innermost first; the outermost frame other than runtime.goexit is where the goroutine began.
std::map<std::string, int> profile_counts(const std::string& path) {
  std::ifstream in(path);
  std::map<std::string, int> counts;
  int n = 0;
  std::string outermost;
  auto flush = [&] {
    if (n && outermost.rfind("main.", 0) == 0 && outermost != "main.main") counts[outermost] += n;
    n = 0;
    outermost.clear();
  };
  std::regex record(R"(^(\d+) @ )"), frame(R"(^#\s+0x[0-9a-f]+\s+([^\s+]+)\+0x)");
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_search(line, m, record)) {
      flush();
      n = std::stoi(m[1]);
    } else if (std::regex_search(line, m, frame) && m[1] != "runtime.goexit") {
      outermost = m[1];
    }
  }
  flush();
  return counts;
}

// Per start function (main.* only), the goroutines alive in `gorepro report --format json`.
std::map<std::string, int> report_counts(const nlohmann::json& j) {
  std::map<std::string, int> counts;
  for (const auto& g : j["groups"]) {
    std::string fn = g["start_function"];
    if (fn.rfind("main.", 0) == 0 && fn != "main.main") counts[fn] += g["alive"].get<int>();
  }
  return counts;
}

TEST(Snapshot, PerSiteCountsEqualTheRuntimesGoroutineProfileAtTheSameInstant) {
  for (const auto& v : testing::built_go_versions()) {
    SCOPED_TRACE("go" + v);
    const std::string profile = temp_path(fmt::format("snapsites-{}.prof", v));
    const std::string trace = temp_path(fmt::format("snapsites-{}.gtr", v));
    std::filesystem::remove(profile);
    // Still for 6 intervals after the profile: the last snapshots all fall on that state.
    auto rec = run({testing::gorepro_binary(), "record", "-q", "--snapshot", "100ms", "-o", trace, "--",
                    go_program("snapsites", v, false), "-profile", profile, "-hold", "600ms"});
    ASSERT_EQ(rec.exit_code, 0) << rec.err;
    EXPECT_EQ(rec.out, "profile written\n");
    auto want = profile_counts(profile);
    ASSERT_EQ(want.size(), 5u) << "profile: " << profile;

    expect_well_formed(trace);
    auto rep = run({testing::gorepro_binary(), "report", "--format", "json", trace});
    ASSERT_EQ(rep.exit_code, 0) << rep.err;
    auto j = nlohmann::json::parse(rep.out);
    EXPECT_EQ(report_counts(j), want) << rep.out;
    ASSERT_TRUE(j["trace"]["sampled"].is_object()) << rep.out;
    EXPECT_GE(j["trace"]["sampled"]["snapshots"].get<int>(), 5);
    EXPECT_EQ(j["trace"]["sampled"]["interval_ns"].get<uint64_t>(), 100'000'000u);
    EXPECT_EQ(j["trace"]["backend"], "snapshot");

    auto text = run({testing::gorepro_binary(), "report", trace});
    EXPECT_NE(text.out.find("sampled: "), std::string::npos) << text.out;
  }
}

TEST(Snapshot, ReportNamesEveryExamplesLeakingSiteWithItsCount) {
  for (const auto& v : testing::built_go_versions()) {
    for (const auto& example : testing::example_names()) {
      SCOPED_TRACE("go" + v + " " + example);
      auto marks = testing::read_leak_marks(testing::go_source_dir("examples/" + example));
      const std::string trace = temp_path(fmt::format("{}-{}.gtr", example, v));
      // The exit state held for 3 intervals, so a snapshot reads it.
      auto rec = run({testing::gorepro_binary(), "record", "-q", "--snapshot", "50ms", "-o", trace, "--",
                      go_program(example, v, false)},
                     {"GOREPRO_EXAMPLE_HOLD=150ms"});
      ASSERT_EQ(rec.exit_code, 0) << rec.err;
      expect_well_formed(trace);
      auto rep = run({testing::gorepro_binary(), "report", "--format", "json", trace});
      ASSERT_EQ(rep.exit_code, 0) << rep.err;
      auto j = nlohmann::json::parse(rep.out);
      std::map<std::pair<std::string, int>, int> alive_at;
      for (const auto& g : j["groups"]) {
        std::pair<std::string, int> site{g["creation_site"]["file"], g["creation_site"]["line"]};
        alive_at[site] += g["alive"].get<int>();
        for (const auto& m : marks) {
          if (m.file == site.first && m.line == site.second) {
            EXPECT_TRUE(m.accepts(g["wait_reason"].get<std::string>())) << g.dump();
          }
        }
      }
      for (const auto& m : marks) {
        EXPECT_EQ(alive_at[std::make_pair(m.file, m.line)], m.count) << m.file << ":" << m.line << "\n" << rep.out;
        alive_at.erase(std::make_pair(m.file, m.line));
      }
      for (const auto& [site, n] : alive_at) ADD_FAILURE() << n << " alive at unmarked " << site.first << ":" << site.second;
    }
  }
}

TEST(Snapshot, AttachedProgramIsNeverStoppedOrChangedAndRunsOnAsUntraced) {
  auto marks = testing::read_leak_marks(testing::go_source_dir("tests/go/attachtarget"));
  ASSERT_EQ(marks.size(), 1u);
  for (const auto& v : testing::built_go_versions()) {
    for (bool stripped : {false, true}) {
      SCOPED_TRACE("go" + v + (stripped ? " stripped" : ""));
      const std::string bin = go_program("attachtarget", v, stripped);
      auto untraced = run({bin, "-work", "1s"});
      ASSERT_EQ(untraced.exit_code, 0);
      testing::Background target({bin, "-work", "1s"});
      ASSERT_EQ(target.read_line().rfind("pid ", 0), 0u);
      ASSERT_EQ(target.read_line(), "ready\n");
      const std::string before = testing::text_bytes(target.pid(), bin);
      const std::string trace = temp_path(fmt::format("attach-{}-{}.gtr", v, stripped));
      const pid_t rec = testing::start_gorepro({"record", "-q", "--snapshot", "50ms", "--pid",
                                                std::to_string(target.pid()), "--duration", "400ms", "-o", trace});
      // Never a tracer and never stopped: looked at every 10 ms while the recording runs.
      int looks = 0, traced = 0, stopped = 0, wstatus = 0;
      while (waitpid(rec, &wstatus, WNOHANG) == 0) {
        std::ifstream status(fmt::format("/proc/{}/status", target.pid()));
        for (std::string line; std::getline(status, line);) {
          if (line.rfind("TracerPid:", 0) == 0 && line != "TracerPid:\t0") traced++;
          if (line.rfind("State:", 0) == 0 && line.find("stopped") != std::string::npos) stopped++;
        }
        looks++;
        usleep(10'000);
      }
      ASSERT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) << "gorepro record: status " << wstatus;
      EXPECT_GT(looks, 10);
      EXPECT_EQ(traced, 0);
      EXPECT_EQ(stopped, 0);
      EXPECT_EQ(testing::text_bytes(target.pid(), bin), before) << "code differs after the recording";
      std::string out;
      EXPECT_EQ(target.wait(&out), 0);
      auto strip_pid = [](const std::string& s) { return std::regex_replace(s, std::regex("pid \\d+\n"), ""); };
      EXPECT_EQ(strip_pid(out), strip_pid(untraced.out));

      auto rep = run({testing::gorepro_binary(), "report", "--format", "json", trace});
      ASSERT_EQ(rep.exit_code, 0) << rep.err;
      testing::expect_preexisting_leak(rep.out, marks[0]);
    }
  }
}

TEST(Snapshot, BadIntervalAndProbeOptionsAreRefusedInOneLine) {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"--snapshot", "soon"},
                                               {"--snapshot", "0s"},
                                               {"--snapshot", "1s", "--backend", "ebpf"},
                                               {"--snapshot", "1s", "--probe-states"}}) {
    std::vector<std::string> argv = {testing::gorepro_binary(), "record"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--", "/bin/true"});
    auto r = run(argv);
    EXPECT_EQ(r.exit_code, 2) << fmt::format("{}", fmt::join(args, " "));
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find("--snapshot"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace gorepro
