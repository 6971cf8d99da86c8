// `gorepro record --backend gdb` as a user runs it, on the real gdb and real Go programs of
// every supported version:
//  - cross-check: on every example, the ptrace and gdb traces hold the same multiset of
//    (creation site, start function, final state, wait reason) over the example's own go
//    statements, and those leaks are the ones the `// want leak:` marks say;
//  - the program behaves as untraced: stdout, stderr and exit status byte for byte, signals
//    (SIGURG preemption, os/signal, a terminal's Ctrl-C, a kill) delivered as without gdb;
//  - --pid + --duration or SIGINT detach and leave the program running to its normal end;
//  - exec and child processes; `report`, `replay`, `diff` and `correlate` read gdb traces;
//  - a missing gdb and a gdb killed mid-recording are one clear error.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <thread>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/marks.h"
#include "dwarf/go_binary.h"
#include "replay/replayer.h"
#include "replay/trace_reader.h"
#include "support/go_programs.h"
#include "support/run.h"
#include "support/scratch.h"
#include "support/trace_checks.h"

namespace gorepro {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::go_program;
using testing::run;

std::string temp_trace(const std::string& name) { return testing::scratch_file("gdb-e2e", name + ".gtr"); }

std::vector<std::string> record_cmd(const std::string& backend, const std::string& trace,
                                    const std::vector<std::string>& program) {
  std::vector<std::string> argv = {testing::gorepro_binary(), "record", "-q", "--backend", backend, "-o", trace, "--"};
  argv.insert(argv.end(), program.begin(), program.end());
  return argv;
}

// (creation site, start function, final state, wait reason) of one goroutine.
using Fate = std::tuple<std::string, std::string, std::string, std::string>;

// The fate of every goroutine that a go statement in dir's sources created, with counts.
std::map<Fate, int> fates(const std::string& trace, const std::string& binary, const std::string& dir) {
  std::map<Fate, int> out;
  auto reader = replay::TraceReader::open(trace);
  EXPECT_TRUE(reader) << (reader ? "" : reader.error().message());
  if (!reader) return out;
  EXPECT_EQ(testing::trace_violations(**reader), "") << trace;
  auto bin = GoBinary::open(binary);
  EXPECT_TRUE(bin);
  if (!bin) return out;
  replay::Replayer replayer(**reader, replay::Replayer::Options{.checkpoint_interval = 0, .keep_dead = true});
  replayer.run_to_end();
  const auto& reasons = (*reader)->header().wait_reasons;
  for (const auto& [goid, g] : replayer.table().goroutines()) {
    if (g.placeholder || !g.gopc) continue;
    auto frames = (*bin)->symbolizer().frames(g.gopc - 1);
    if (frames.empty() || frames[0].file.rfind(dir, 0) != 0) continue;
    const bool waiting = g.state == replay::GoState::Waiting;
    std::string reason = waiting && g.wait_reason < reasons.size() ? reasons[g.wait_reason] : "";
    out[{fmt::format("{}:{}", fs::path(frames[0].file).filename().string(), frames[0].line),
         (*bin)->symbolizer().function_name(g.start_pc), std::string(replay::go_state_name(g.state)), reason}]++;
  }
  return out;
}

std::string describe(const std::map<Fate, int>& m) {
  std::string s;
  for (const auto& [f, n] : m) {
    s += fmt::format("  {} x {} {} {} {}\n", n, std::get<0>(f), std::get<1>(f), std::get<2>(f), std::get<3>(f));
  }
  return s;
}

struct Case {
  std::string example;
  std::string version;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.example << " go" << c.version; }

class CrossCheck : public ::testing::TestWithParam<Case> {};

TEST_P(CrossCheck, PtraceAndGdbSeeTheSameGoroutinesAndTheMarkedLeaks) {
  const Case& c = GetParam();
  const std::string binary = go_program(c.example, c.version, false);
  const std::string dir = testing::go_source_dir("examples/" + c.example);
  const std::string name = fmt::format("{}-{}", c.example, c.version);
  auto p = run(record_cmd("ptrace", temp_trace(name + "-ptrace"), {binary}));
  ASSERT_EQ(p.exit_code, 0) << p.err;
  auto g = run(record_cmd("gdb", temp_trace(name + "-gdb"), {binary}));
  ASSERT_EQ(g.exit_code, 0) << g.err;
  EXPECT_EQ(g.out, p.out);  // the gorepro-count lines: the same go statements ran
  auto via_ptrace = fates(temp_trace(name + "-ptrace"), binary, dir);
  auto via_gdb = fates(temp_trace(name + "-gdb"), binary, dir);
  ASSERT_FALSE(via_ptrace.empty());
  EXPECT_EQ(via_gdb, via_ptrace) << "gdb:\n" << describe(via_gdb) << "ptrace:\n" << describe(via_ptrace);

  // And against the source marks: the waiting goroutines per go statement are the marked leaks.
  std::map<std::string, int> leaked;
  for (const auto& [f, n] : via_gdb) {
    if (std::get<2>(f) == "waiting") leaked[std::get<0>(f)] += n;
  }
  std::map<std::string, int> marked;
  for (const auto& m : testing::read_leak_marks(dir)) {
    marked[fmt::format("{}:{}", fs::path(m.file).filename().string(), m.line)] += m.count;
    for (const auto& [f, n] : via_gdb) {
      if (std::get<2>(f) == "waiting" && std::get<0>(f) == fmt::format("{}:{}", fs::path(m.file).filename().string(), m.line)) {
        EXPECT_TRUE(m.accepts(std::get<3>(f))) << std::get<3>(f);
      }
    }
  }
  EXPECT_EQ(leaked, marked);
}

std::vector<Case> cross_cases() {
  std::vector<Case> out;
  for (const auto& ex : testing::example_names()) {
    for (const auto& v : testing::built_go_versions()) out.push_back({ex, v});
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Examples, CrossCheck, ::testing::ValuesIn(cross_cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           std::string v = info.param.version;
                           v.erase(std::remove(v.begin(), v.end(), '.'), v.end());
                           return info.param.example + "_go" + v;
                         });

// Stripped and position-independent builds: the same leak through gdb (no symbols, a load bias).
TEST(GdbRecord, StrippedAndPieBinariesReportTheMarkedLeak) {
  auto marks = testing::read_leak_marks(testing::go_source_dir("examples/sendleak"));
  ASSERT_EQ(marks.size(), 1u);
  for (const auto& v : testing::built_go_versions()) {
    for (const std::string suffix : {".stripped", ".pie"}) {
      SCOPED_TRACE(v + suffix);
      const std::string trace = temp_trace("sendleak" + suffix + v);
      auto rec = run(record_cmd("gdb", trace, {go_program("sendleak", v, false) + suffix}));
      ASSERT_EQ(rec.exit_code, 0) << rec.err;
      auto rep = run({testing::gorepro_binary(), "report", "--format", "json", trace});
      ASSERT_EQ(rep.exit_code, 0) << rep.err;
      auto j = nlohmann::json::parse(rep.out);
      ASSERT_EQ(j["groups"].size(), 1u) << rep.out;
      EXPECT_EQ(j["groups"][0]["creation_site"]["file"], marks[0].file);
      EXPECT_EQ(j["groups"][0]["creation_site"]["line"], marks[0].line);
      EXPECT_EQ(j["groups"][0]["alive"], marks[0].count);
    }
  }
}

// --- the program behaves as untraced ---------------------------------------------------------

void expect_same_run(const std::vector<std::string>& program, const std::string& name) {
  auto plain = run(program);
  auto traced = run(record_cmd("gdb", temp_trace(name), program));
  EXPECT_EQ(traced.exit_code, plain.exit_code) << traced.err;
  EXPECT_EQ(traced.out, plain.out);
  // gorepro's own summary lines ("gorepro: ...") follow the program's stderr.
  EXPECT_EQ(std::regex_replace(traced.err, std::regex("gorepro: [^\n]*\n"), ""), plain.err);
}

TEST(GdbRecord, OutputAndExitStatusAreTheProgramsOwn) {
  for (const auto& v : testing::built_go_versions()) {
    SCOPED_TRACE(v);
    // sigtest finishes only if SIGURG preemption and os/signal's SIGUSR1 reach it.
    expect_same_run({go_program("sigtest", v, false)}, "sig" + v);
    expect_same_run({go_program("stderrwriter", v, false)}, "stderr" + v);
    expect_same_run({go_program("attachtarget", v, false), "-no-such-flag"}, "badflag" + v);  // exit 2, usage
    expect_same_run({go_program("sendleak", v, false)}, "out" + v);
  }
}

// Starts argv in a new process group (as a shell starts a job) with stdout in a pipe (and
// stderr in err_file when given); returns the pid and the pipe's read end.
std::pair<pid_t, int> start_job(const std::vector<std::string>& argv, const std::string& err_file = "") {
  int out[2];
  if (pipe(out) != 0) return {-1, -1};
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    dup2(out[1], 1);
    if (!err_file.empty()) {
      FILE* f = fopen(err_file.c_str(), "w");
      if (f) dup2(fileno(f), 2);
    }
    close(out[0]);
    close(out[1]);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  setpgid(pid, pid);
  close(out[1]);
  return {pid, out[0]};
}

// Reads from fd until text appears (or EOF / 60 s); returns what was read.
std::string read_until(int fd, const std::string& text) {
  std::string got;
  char buf[4096];
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (got.find(text) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

int wait_status(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// A terminal's Ctrl-C goes to the foreground job's process group: gorepro and the program (gdb
// has a group of its own). The program dies of it exactly as it would without gorepro.
TEST(GdbRecord, TerminalCtrlCReachesTheProgramOnce) {
  const std::string v = testing::built_go_versions().back();
  const std::string prog = go_program("attachtarget", v, false);
  auto [plain, plain_out] = start_job({prog, "-work", "60s"});
  read_until(plain_out, "ready");
  kill(-plain, SIGINT);
  const int plain_status = wait_status(plain);
  close(plain_out);
  auto [traced, traced_out] = start_job(record_cmd("gdb", temp_trace("ctrlc"), {prog, "-work", "60s"}));
  std::string out = read_until(traced_out, "ready");
  ASSERT_NE(out.find("ready"), std::string::npos) << out;
  kill(-traced, SIGINT);
  EXPECT_EQ(wait_status(traced), plain_status);
  EXPECT_EQ(plain_status, 128 + SIGINT);
  close(traced_out);
}

// A signal sent to the program by another process (kill) reaches it as without gorepro.
TEST(GdbRecord, KilledProgramEndsWithItsSignalStatus) {
  const std::string v = testing::built_go_versions().back();
  const std::string prog = go_program("attachtarget", v, false);
  auto [traced, traced_out] = start_job(record_cmd("gdb", temp_trace("killed"), {prog, "-work", "60s"}));
  std::string out = read_until(traced_out, "ready");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(out, m, std::regex(R"(pid (\d+))"))) << out;
  kill(std::stoi(m[1]), SIGTERM);
  EXPECT_EQ(wait_status(traced), 128 + SIGTERM);
  close(traced_out);
}

// --- attach ----------------------------------------------------------------------------------

TEST(GdbRecord, AttachThenDurationOrSigintDetachesAndTheProgramRunsOn) {
  const std::string v = testing::built_go_versions().back();
  const std::string prog = go_program("attachtarget", v, false);
  const auto plain = run({prog, "-work", "100ms"});
  std::smatch result;
  ASSERT_TRUE(std::regex_search(plain.out, result, std::regex(R"(result \S+)"))) << plain.out;
  auto marks = testing::read_leak_marks(testing::go_source_dir("tests/go/attachtarget"));
  ASSERT_EQ(marks.size(), 1u);
  for (bool by_signal : {false, true}) {
    SCOPED_TRACE(by_signal ? "SIGINT" : "--duration");
    // Long enough to outlast gdb's start and attach on a loaded machine (3 s did not, once).
    auto [pid, out_fd] = start_job({prog, "-work", "8s"});
    ASSERT_NE(read_until(out_fd, "ready").find("ready"), std::string::npos);
    const std::string trace = temp_trace(by_signal ? "attach-int" : "attach-dur");
    std::vector<std::string> argv = {testing::gorepro_binary(), "record", "-q", "--backend", "gdb", "--pid",
                                     std::to_string(pid), "-o", trace};
    if (!by_signal) argv.insert(argv.end(), {"--duration", "500ms"});
    auto [rec, rec_out] = start_job(argv);
    if (by_signal) {
      std::this_thread::sleep_for(1s);
      kill(rec, SIGINT);
    }
    EXPECT_EQ(wait_status(rec), 0);
    close(rec_out);
    // Detached: the program finishes its work and prints its usual result.
    std::string rest = read_until(out_fd, "\nresult");
    rest += read_until(out_fd, "\n");
    EXPECT_EQ(wait_status(pid), 0);
    EXPECT_NE(rest.find(result.str()), std::string::npos) << rest;
    close(out_fd);
    // The leaked goroutines were found at attach, with their true creation site.
    auto rep = run({testing::gorepro_binary(), "report", "--format", "json", trace});
    ASSERT_EQ(rep.exit_code, 0) << rep.err;
    auto j = nlohmann::json::parse(rep.out);
    bool found = false;
    for (const auto& g : j["groups"]) {
      if (g["creation_site"]["file"] == marks[0].file && g["creation_site"]["line"] == marks[0].line) {
        found = true;
        EXPECT_EQ(g["alive"], marks[0].count);
        EXPECT_TRUE(marks[0].accepts(g["wait_reason"].get<std::string>()));
        // The leak verdicts taken before the detach: the channel they wait on is the global
        // main.never, reachable, so may_wake (docs/verdicts.md, "Reachable from a global").
        EXPECT_EQ(g["verdict"], "may_wake") << g.dump();
      }
    }
    EXPECT_TRUE(found) << rep.out;
    EXPECT_FALSE(j["verdicts"].is_null()) << rep.out;
  }
}

// --- exec, children ---------------------------------------------------------------------------

TEST(GdbRecord, ExecEndsTheRecordingAndChildrenRunUntraced) {
  for (const auto& v : testing::built_go_versions()) {
    SCOPED_TRACE(v);
    const std::string bin = go_program("exectarget", v, false);
    auto plain = run({bin, "-mode", "exec"});
    const std::string trace = temp_trace("exec" + v);
    auto traced = run(record_cmd("gdb", trace, {bin, "-mode", "exec"}));
    EXPECT_EQ(plain.exit_code, 3);
    EXPECT_EQ(traced.exit_code, plain.exit_code) << traced.err;
    EXPECT_EQ(traced.out, plain.out);
    EXPECT_NE(traced.err.find("calling exec"), std::string::npos) << traced.err;
    EXPECT_EQ(run({testing::gorepro_binary(), "report", trace}).exit_code, 0);
    auto child_plain = run({bin, "-mode", "child"});
    auto child = run(record_cmd("gdb", temp_trace("child" + v), {bin, "-mode", "child"}));
    EXPECT_EQ(child.exit_code, 0) << child.err;
    EXPECT_EQ(child.out, child_plain.out);
  }
}

// --- the trace tools read gdb traces ----------------------------------------------------------

TEST(GdbRecord, ReportReplayDiffAndCorrelateReadGdbTraces) {
  const std::string v = testing::built_go_versions().back();
  const std::string bin = go_program("sendleak", v, false);
  const std::string gdb_trace = temp_trace("tools-gdb"), ptrace_trace = temp_trace("tools-ptrace");
  ASSERT_EQ(run(record_cmd("gdb", gdb_trace, {bin})).exit_code, 0);
  ASSERT_EQ(run(record_cmd("ptrace", ptrace_trace, {bin})).exit_code, 0);
  const std::string g = testing::gorepro_binary();
  auto marks = testing::read_leak_marks(testing::go_source_dir("examples/sendleak"));
  ASSERT_EQ(marks.size(), 1u);
  const std::string site = fmt::format("main.go:{}", marks[0].line);

  auto rep = run({g, "report", "--format", "json", gdb_trace});
  ASSERT_EQ(rep.exit_code, 0) << rep.err;
  EXPECT_EQ(nlohmann::json::parse(rep.out)["trace"]["backend"], "gdb") << rep.out;
  EXPECT_EQ(run({g, "check", gdb_trace}).exit_code, 1);  // sendleak leaks

  // replay: the first creation at the marked site is the same goroutine under either backend.
  auto rg = run({g, "replay", gdb_trace, "--json", "-x", "next create " + site});
  auto rp = run({g, "replay", ptrace_trace, "--json", "-x", "next create " + site});
  ASSERT_EQ(rg.exit_code, 0) << rg.err;
  ASSERT_EQ(rp.exit_code, 0) << rp.err;
  auto eg = nlohmann::json::parse(rg.out)["event"], ep = nlohmann::json::parse(rp.out)["event"];
  EXPECT_EQ(eg["creation_site"]["line"], marks[0].line) << rg.out;
  for (const char* field : {"kind", "creation_site", "start_function", "parent"}) {
    EXPECT_EQ(eg[field], ep[field]) << field << "\n" << rg.out << "\n" << rp.out;
  }

  // diff: the same program under either backend has grown nowhere.
  auto d = run({g, "diff", ptrace_trace, gdb_trace, "--fail-on-growth", "0"});
  EXPECT_EQ(d.exit_code, 0) << d.out << d.err;

  // correlate: runtime scheduler dumps placed among gdb's events agree with its goroutine table.
  const std::string sched = temp_trace("tools-sched");
  // Fixed 20 ms dumps: the check counts samples, and gdb's slow dumps would be paced apart.
  auto rec = run({g, "record", "-q", "--backend", "gdb", "--schedtrace=20", "--schedtrace-fixed", "--scheddetail", "-o",
                  sched, "--", bin});
  ASSERT_EQ(rec.exit_code, 0) << rec.err;
  auto c = run({g, "correlate", sched});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(c.out, m, std::regex(R"((\d+) schedtrace samples)"))) << c.out;
  EXPECT_GT(std::stoi(m[1]), 2) << c.out;
  // Under ptrace every observation agrees; under gdb a thread can wait behind gdb's one displaced-
  // stepping buffer through a few dumps, its recorded exit not landed yet (0.95-1.0 measured).
  ASSERT_TRUE(std::regex_search(c.out, m, std::regex(R"(agreement: ([0-9.]+))"))) << c.out;
  EXPECT_GE(std::stod(m[1]), 0.9) << c.out;
}

// --- gdb failing ------------------------------------------------------------------------------

TEST(GdbErrors, MissingGdbIsOneLineAndTheProgramNeverStarts) {
  const std::string bin = go_program("sendleak", testing::built_go_versions().back(), false);
  auto r = run(record_cmd("gdb", temp_trace("nogdb"), {bin}), {"PATH=/nonexistent"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.rfind("gorepro: gdb not found on PATH — install gdb", 0), 0u) << r.err;
  EXPECT_EQ(r.out, "");  // sendleak prints its counts when it runs
}

TEST(GdbErrors, GdbKilledMidRecordingIsOneClearError) {
  const std::string v = testing::built_go_versions().back();
  const std::string err = testing::scratch_file("gdb-e2e", "gdbkilled.err");
  auto [rec, out_fd] = start_job(
      record_cmd("gdb", temp_trace("gdbkilled"), {go_program("attachtarget", v, false), "-work", "60s"}), err);
  ASSERT_NE(read_until(out_fd, "ready").find("ready"), std::string::npos);
  // gorepro's gdb child: the one process whose parent is gorepro and whose name is gdb.
  pid_t gdb = 0;
  for (const auto& e : fs::directory_iterator("/proc")) {
    std::ifstream stat(e.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    std::smatch m;
    if (std::regex_search(line, m, std::regex(R"(^(\d+) \(gdb\) \S (\d+))")) && std::stoi(m[2]) == rec) gdb = std::stoi(m[1]);
  }
  ASSERT_GT(gdb, 0);
  kill(gdb, SIGKILL);
  // gorepro ends and says why, once; the program, left with gdb's breakpoints in its code, ends
  // at the next one (SIGTRAP): nothing can take them out once gdb is gone.
  EXPECT_EQ(wait_status(rec), 1);
  close(out_fd);
  std::ifstream in(err);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // (The program's own crash report, SIGTRAP, is on the same stderr.)
  const std::string line = fmt::format("gorepro: gdb (pid {}) was killed by signal 9", gdb);
  const size_t at = text.find(line);
  EXPECT_NE(at, std::string::npos) << text;
  EXPECT_EQ(text.find(line, at + 1), std::string::npos) << text;
}

}  // namespace
}  // namespace gorepro
