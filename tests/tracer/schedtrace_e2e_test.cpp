// `gorepro record --schedtrace` and `gorepro correlate` on real Go programs of every supported
// version: the program's stderr is untouched, the runtime's dumps land in the trace, and the
// goroutine table gorepro reconstructs is held against them. Expected values come from the
// programs (their untraced stderr, their leak marks), never from gorepro's output.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/marks.h"
#include "replay/trace_reader.h"
#include "support/go_programs.h"
#include "support/run.h"
#include "support/scratch.h"

namespace gorepro {
namespace {

namespace fs = std::filesystem;
using testing::go_program;
using testing::run;

std::string scratch(const std::string& name) { return testing::scratch_file("sched", name); }

nlohmann::json correlate_json(const std::string& trace) {
  auto r = run({testing::gorepro_binary(), "correlate", trace, "--format", "json", "--max-list", "1000"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json::object();
}

// What record printed after the program's own stderr: only its closing "gorepro: " lines.
void expect_only_gorepro_lines(const std::string& tail) {
  for (size_t i = 0; i < tail.size();) {
    size_t nl = tail.find('\n', i);
    std::string line = tail.substr(i, nl - i);
    EXPECT_EQ(line.rfind("gorepro: ", 0), 0u) << "unexpected output after the program's: " << line;
    if (nl == std::string::npos) break;
    i = nl + 1;
  }
}

// gorepro's own lines in an output that is mostly the program's binary noise: what a failure shows.
std::string gorepro_lines(const std::string& err) {
  std::string out;
  for (size_t i = err.find("gorepro: "); i != std::string::npos; i = err.find("gorepro: ", i + 1)) {
    out += err.substr(i, err.find('\n', i) - i) + "\n";
  }
  return out;
}

TEST(Schedtrace, ProgramStderrIsByteIdenticalToAnUntracedRun) {
  for (const std::string& v : testing::built_go_versions()) {
    SCOPED_TRACE("go" + v);
    const std::string prog = go_program("stderrwriter", v, false);
    auto plain = run({prog});
    ASSERT_EQ(plain.exit_code, 0);
    ASSERT_GT(plain.err.size(), 1'000'000u);  // heavy, binary, and with SCHED-like lines
    const std::string trace = scratch(fmt::format("stderr-{}.gtr", v));
    auto traced = run({testing::gorepro_binary(), "record", "-q", "-o", trace, "--schedtrace=5", "--scheddetail", "--", prog});
    ASSERT_EQ(traced.exit_code, 0) << gorepro_lines(traced.err);
    // The program's bytes first, exactly; then only gorepro's own closing lines.
    ASSERT_GE(traced.err.size(), plain.err.size());
    EXPECT_TRUE(traced.err.compare(0, plain.err.size(), plain.err) == 0) << "the program's stderr was changed";
    std::string tail = traced.err.substr(plain.err.size());
    expect_only_gorepro_lines(tail);
    EXPECT_EQ(tail.find("SCHED "), std::string::npos);
    auto c = correlate_json(trace);
    EXPECT_GE(c.value("samples", 0), 5);
    EXPECT_EQ(c.value("samples_unparsed", 1), 0);
  }
}

TEST(Schedtrace, ShowSchedtraceAlsoPassesTheDumpsToStderr) {
  const std::string v = testing::built_go_versions().back();
  const std::string trace = scratch("show.gtr");
  auto traced = run({testing::gorepro_binary(), "record", "-q", "-o", trace, "--schedtrace=5", "--show-schedtrace", "--",
                     go_program("mixed", v, true)});
  ASSERT_EQ(traced.exit_code, 0) << traced.err;
  EXPECT_NE(traced.err.find("\nSCHED "), std::string::npos);
}

// A program that exits while its runtime prints a dump leaves that dump unfinished on the
// runtime's descriptor. It is SCHED output like any other: not shown, and the program's own
// stderr and exit status are as without gorepro. exitmiddump parks 4,000 goroutines so that
// each dump is long; its exit lands inside one in about 9 runs of 10 (checked over up to 4 runs).
TEST(Schedtrace, ADumpCutShortByTheProgramsExitIsNotShown) {
  for (const std::string& v : testing::built_go_versions()) {
    SCOPED_TRACE("go" + v);
    const std::string prog = go_program("exitmiddump", v, false);
    auto plain = run({prog});
    ASSERT_EQ(plain.exit_code, 3);
    bool cut = false;
    for (int attempt = 0; attempt < 4 && !cut; attempt++) {
      const std::string trace = scratch(fmt::format("exitmiddump-{}.gtr", v));
      auto traced = run({testing::gorepro_binary(), "record", "-q", "-o", trace, "--schedtrace=1",
                          "--schedtrace-fixed", "--scheddetail", "--", prog});  // fixed: many dumps, one cut
      ASSERT_EQ(traced.exit_code, 3) << traced.err;
      ASSERT_EQ(traced.err.compare(0, plain.err.size(), plain.err), 0) << traced.err;
      std::string tail = traced.err.substr(plain.err.size());
      expect_only_gorepro_lines(tail);
      cut = tail.find("the program exited in the middle of the last one") != std::string::npos;
      auto c = correlate_json(trace);
      EXPECT_EQ(c.value("samples_unparsed", 1), 0);
    }
    EXPECT_TRUE(cut) << "no run of exitmiddump exited mid-dump";
  }
}

TEST(Schedtrace, AttachRefusesSchedtraceAndNamesTheLogAlternative) {
  auto r = run({testing::gorepro_binary(), "record", "--pid", std::to_string(getpid()), "--schedtrace"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--schedtrace-log"), std::string::npos) << r.err;
}

// mixed is service-like: one request in ten abandons a goroutine for the whole run. The
// growth window over the runtime's own goroutine count must name that go statement.
TEST(Schedtrace, GrowthWindowOfTheServiceLikeExampleNamesItsLeakingSite) {
  auto marks = testing::read_leak_marks(testing::go_source_dir("examples/mixed"));
  ASSERT_EQ(marks.size(), 1u);
  const std::string site = fmt::format("{}:{} ", fs::path(marks[0].file).filename().string(), marks[0].line);
  for (const std::string& v : testing::built_go_versions()) {
    for (bool stripped : {false, true}) {
      SCOPED_TRACE(fmt::format("go{}{}", v, stripped ? " stripped" : ""));
      const std::string trace = scratch(fmt::format("mixed-{}-{}.gtr", v, stripped));
      // Fixed 10 ms dumps: the growth fit needs their count, which pacing may cut.
      auto rec = run({testing::gorepro_binary(), "record", "-q", "-o", trace, "--schedtrace=10", "--schedtrace-fixed",
                      "--scheddetail", "--", go_program("mixed", v, stripped)});
      ASSERT_EQ(rec.exit_code, 0) << rec.err;
      auto c = correlate_json(trace);
      ASSERT_FALSE(c["growth_windows"].empty());
      // Every window's top site is the marked go statement, and the windows together hold
      // its leaks: all of them on a quiet machine; a loaded one may leave a rise unfitted.
      int net = 0;
      for (const auto& w : c["growth_windows"]) {
        ASSERT_FALSE(w["sites"].empty()) << w.dump();
        const auto& top = w["sites"][0];
        EXPECT_EQ(top["site"].get<std::string>().rfind(site, 0), 0u) << top.dump();
        if (top["site"].get<std::string>().rfind(site, 0) == 0) net += top["net"].get<int>();
      }
      EXPECT_LE(net, marks[0].count);
      EXPECT_GE(net, (marks[0].count + 1) / 2) << c["growth_windows"].dump();
    }
  }
}

// Attach mode cannot set GODEBUG: the user captures the program's stderr and hands it over.
// Without arrival times the log is placed where its live goroutines match the trace's.
TEST(Schedtrace, SeparatelyCapturedLogIsAlignedAndNamesTheLeakingSite) {
  auto marks = testing::read_leak_marks(testing::go_source_dir("examples/mixed"));
  ASSERT_EQ(marks.size(), 1u);
  const std::string site = fmt::format("{}:{} ", fs::path(marks[0].file).filename().string(), marks[0].line);
  const std::string v = testing::built_go_versions().back();
  const std::string trace = scratch("log.gtr"), log = scratch("sched.log");
  auto rec = run({"/bin/sh", "-c",
                  fmt::format("GODEBUG=schedtrace=10,scheddetail=1 '{}' record -q -o '{}' -- '{}' >/dev/null 2>'{}'",
                              testing::gorepro_binary(), trace, go_program("mixed", v, false), log)});
  ASSERT_EQ(rec.exit_code, 0) << rec.err;
  auto r = run({testing::gorepro_binary(), "correlate", trace, "--schedtrace-log", log, "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto c = nlohmann::json::parse(r.out);
  EXPECT_TRUE(c["clock"]["from_log"].get<bool>());
  EXPECT_GE(c["samples"].get<int>(), 20);
  // Only ±1 ms is known of each dump's time: agreement is lower than with recorded samples,
  // but every disagreement still has an event of that goroutine within that millisecond.
  EXPECT_GE(c["agreement"].get<double>(), 0.95);
  EXPECT_EQ(c["disagreements_total"], c["disagreements_explained"]) << c["disagreements"].dump(1);
  ASSERT_FALSE(c["growth_windows"].empty());
  EXPECT_EQ(c["growth_windows"][0]["sites"][0]["site"].get<std::string>().rfind(site, 0), 0u);
}

// Go 1.23 coroutines switch goroutines without gopark, ready or execute (coroswitch probe):
// the runtime's dumps must agree with gorepro's table on coroleak too — its leaked and
// switching coroutine goroutines waiting in "coroutine", main waiting while one runs.
TEST(Schedtrace, CoroutineSwitchesAgreeWithTheRuntimesDump) {
  bool any = false;
  for (const std::string& v : testing::built_go_versions()) {
    if (std::stoi(v.substr(v.find('.') + 1)) < 23) continue;  // iter.Pull is new in Go 1.23
    any = true;
    SCOPED_TRACE("go" + v);
    const std::string trace = scratch(fmt::format("coroleak-{}.gtr", v));
    // Fixed 5 ms dumps: the comparison needs their count, which pacing would cut on this short run.
    auto rec = run({testing::gorepro_binary(), "record", "-q", "-o", trace, "--schedtrace=5", "--schedtrace-fixed",
                    "--scheddetail", "--", go_program("coroleak", v, false)});
    ASSERT_EQ(rec.exit_code, 0) << rec.err;
    auto c = correlate_json(trace);
    EXPECT_GE(c.value("compared", 0), 50);
    EXPECT_EQ(c.value("disagreements_total", 0), c.value("disagreements_explained", -1)) << c["disagreements"].dump(1);
    EXPECT_GE(c.value("agreement", 0.0), 0.95) << c["disagreements"].dump(1);
  }
  if (!any) GTEST_SKIP() << "no Go 1.23 toolchain built";
}

// The oracle: each dump's goroutines against gorepro's table. --schedtrace turns on the state
// probes and --scheddetail the G-line read probe, so every goroutine is compared in all four
// classes (runnable, running, syscall, waiting with its reason) at the exact point among the
// events where the runtime read its status. Every disagreement must be explained by an event
// about that goroutine near the dump; the fraction must reach 0.99 per example where the
// examples give enough observations to measure a percent (at least 100; most examples exit
// after two dumps), and over all examples of a version.
TEST(Schedtrace, EveryExampleAgreesWithTheRuntimesDumpAtLeast99Percent) {
  const char* examples[] = {"ctxleak", "httpleak", "mixed", "mutexleak", "nestedleak", "noleak",
                            "recvleak", "selectleak", "sendleak", "tickerleak", "wgleak"};
  for (const std::string& v : testing::built_go_versions()) {
    size_t compared = 0, agreed = 0;
    for (const char* e : examples) {
      SCOPED_TRACE(fmt::format("{} go{}", e, v));
      const std::string trace = scratch(fmt::format("{}-{}.gtr", e, v));
      // A dump racing a burst of transitions (explained, not agreed) can pull one run under 0.99
      // when other tests share the cores (seen once in ctest -j2, never alone): a second run
      // decides. A systematic disagreement fails both (moving threads off their int3s before
      // the decode cost 6% on every run, for one).
      nlohmann::json c;
      for (int attempt = 0; attempt < 2; attempt++) {
        auto rec = run({testing::gorepro_binary(), "record", "-q", "-o", trace, "--schedtrace=10", "--schedtrace-fixed",
                        "--scheddetail", "--", go_program(e, v, false)});  // fixed: the percent needs the count
        ASSERT_EQ(rec.exit_code, 0) << rec.err;
        c = correlate_json(trace);
        if (c.value("compared", 0) < 100 || c.value("agreement", 0.0) >= 0.99) break;
      }
      EXPECT_EQ(c["classes"].size(), 4u) << c["classes"].dump();
      EXPECT_TRUE(c.value("exact_reads", false));
      compared += c.value("compared", 0u), agreed += c.value("agreed", 0u);
      ::testing::Test::RecordProperty(fmt::format("agreement_{}_go{}", e, v), fmt::format("{:.4f}", c.value("agreement", 0.0)));
      if (c.value("compared", 0) >= 100) {
        EXPECT_GE(c.value("agreement", 0.0), 0.99) << c["disagreements"].dump(1);
      }
      EXPECT_EQ(c.value("disagreements_total", 0), c.value("disagreements_explained", -1)) << c["disagreements"].dump(1);
    }
    ASSERT_GT(compared, 0u);
    EXPECT_GE(static_cast<double>(agreed) / static_cast<double>(compared), 0.99) << "go" << v;
  }
}

// deadgs runs 20,000 goroutines at once and ends them, then works for 0.3 s: every later dump
// lists 20,000 dead g's, and the runtime prints each line with ~12 write(2)s while it holds
// sched.lock — ~0.13 s a dump natively, ~0.2 s under gorepro, far more than --schedtrace=20, so
// at a fixed interval the program ran only between dumps (33.7 s against plain record's 2 s).
// record's bound (--help): dumps take at most 20% of the time (SchedPacer stretches the
// runtime's interval) and at most 500 stopped G-line reads each. Held here as a ratio to plain
// `record` of the same program in the same run (at most 5x), on every version with ptrace: the pacer's
// address comes from each runtime's own table and its live check (the value it finds must be
// the 20 asked for), so each version is its own case. The samples still parse and correlate.
TEST(Schedtrace, ScheddetailOnTwentyThousandDeadGoroutinesStaysWithinItsBoundOfPlainRecord) {
  for (const std::string& v : testing::built_go_versions()) {
    SCOPED_TRACE("go" + v);
    const std::string prog = go_program("deadgs", v, false);
    auto timed = [](const std::vector<std::string>& argv) {
      auto t0 = std::chrono::steady_clock::now();
      auto r = run(argv);
      return std::make_pair(r, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    };
    const std::string plain_trace = scratch("deadgs-plain.gtr"), detail_trace = scratch("deadgs-detail.gtr");
    auto [plain, plain_s] = timed({testing::gorepro_binary(), "record", "-q", "-o", plain_trace, "--", prog});
    auto [detail, detail_s] = timed({testing::gorepro_binary(), "record", "-q", "-o", detail_trace, "--schedtrace=20",
                                     "--scheddetail", "--", prog});
    ASSERT_EQ(plain.exit_code, 0) << plain.err;
    ASSERT_EQ(detail.exit_code, 0) << detail.err;
    std::fprintf(stderr, "deadgs go%s: record %.2f s, --schedtrace=20 --scheddetail %.2f s (%.2fx)\n", v.c_str(),
                 plain_s, detail_s, detail_s / plain_s);
    ::testing::Test::RecordProperty("deadgs_detail_over_plain_go" + v, fmt::format("{:.2f}", detail_s / plain_s));
    // Measured under a load of ~20 from other builds (one run, all versions): 0.74x-2.75x, and
    // 4.99x once (go1.19: one 2.5 s dump, paid in full before the pacer can react). The pacer
    // bounds the share of time between dumps, not the dump it has not seen yet; hence 5x.
    EXPECT_LE(detail_s, 5.0 * plain_s) << gorepro_lines(detail.err);
    EXPECT_NE(detail.err.find("the runtime's dump interval was stretched from 20 ms"), std::string::npos)
        << gorepro_lines(detail.err);
    EXPECT_NE(detail.err.find("dumps listed more than 500 goroutines"), std::string::npos) << gorepro_lines(detail.err);
    // The trace says where the interval changed; per dump at most 500 reads with a position
    // (sched field 6: varint goid, varint distance).
    auto reader = replay::TraceReader::open(detail_trace);
    ASSERT_TRUE(reader) << reader.error().message();
    size_t dumps = 0, capped = 0, stretched = 0;
    replay::Event e;
    for (auto cur = (*reader)->cursor(); cur.next(e);) {
      if (e.kind != replay::EventKind::Sched) continue;
      stretched += e.interval_ms > 20;
      if (!e.g_reads) continue;
      const std::string packed((*reader)->string(e.g_reads));
      size_t varints = 0;
      for (unsigned char c : packed) varints += !(c & 0x80);
      EXPECT_LE(varints / 2, 500u);
      dumps++;
      capped += varints / 2 == 500;
    }
    EXPECT_GT(capped, 0u) << dumps << " dumps with reads";
    EXPECT_GT(stretched, 0u);
    // The samples parse and are compared; correlate names the stretch (agreement on capped
    // dumps is not held here: see docs/schedtrace.md).
    auto c = correlate_json(detail_trace);
    EXPECT_EQ(c.value("samples_unparsed", 1), 0);
    EXPECT_GT(c.value("compared", 0), 0);
    EXPECT_NE(c.dump().find("record changed the runtime's dump interval"), std::string::npos);
  }
}

}  // namespace
}  // namespace gorepro
