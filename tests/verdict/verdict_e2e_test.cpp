// Leak verdicts (issue 15) held against evidence that is not gorepro: the verdict programs in
// tests/go/verdict (ten-odd that leak, ten-odd that end with goroutines blocked and nothing
// leaked), whose `// waits:` marks say, on the line each goroutine blocks on, how many block
// there, in which wait reason, and the verdict they deserve (common/marks.h, docs/verdicts.md).
//
//   VerdictMarks   the marks against the Go runtime's own goroutine dump at exit, every Go version
//   VerdictOracle  Go 1.27's goroutineleak profile (requested by the program) against the marks,
//                  then gorepro's verdicts against the profile
//   VerdictE2E     gorepro's verdict of every blocked goroutine (record, report --json) against
//                  its mark, with a precision table
//
// Goroutines are matched by id: the program's own dump (GOREPRO_VERDICT_SELFCHECK=1) gives each
// goroutine's blocking line, hence its mark; `report --json` gives its verdict. Where report
// --json carries no verdict (before the mechanism lands), the gorepro parts skip saying so.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/marks.h"
#include "support/go_programs.h"
#include "support/goroutine_dump.h"
#include "support/run.h"
#include "support/scratch.h"

namespace gorepro {
namespace {

namespace fs = std::filesystem;
using testing::DumpedGoroutine;
using testing::WaitMark;

const char kSelfCheck[] = "GOREPRO_VERDICT_SELFCHECK=1";
const char kLeakProfile[] = "GOREPRO_VERDICT_LEAKPROFILE=1";
const char kNoVerdicts[] =
    "report --json carries no \"verdict\" field: the verdict mechanism (issue 15, branch verdict) has not "
    "landed, so there is nothing of gorepro's to hold against the marks yet";

struct Program {
  std::string set;   // "leaking" or "waiting"
  std::string name;  // directory name; the binary is verdict_NAME (tests/go/CMakeLists.txt)
  std::string dir;   // absolute source directory
  std::vector<WaitMark> marks;
  std::string program;  // the binary's name where it is not verdict_NAME

  std::string binary(const std::string& version) const {
    return testing::go_program(program.empty() ? "verdict_" + name : program, version, false);
  }
  const WaitMark* mark_at(const std::string& file, int line) const {
    for (const auto& m : marks)
      if (m.file == file && m.line == line) return &m;
    return nullptr;
  }
};

std::vector<Program> verdict_programs() {
  std::vector<Program> out;
  for (const char* set : {"leaking", "waiting"}) {
    const std::string root = testing::go_source_dir(std::string("tests/go/verdict/") + set);
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(root))
      if (e.is_directory() && fs::exists(e.path() / "main.go")) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    for (const auto& n : names) {
      const std::string dir = fs::path(root + "/" + n).lexically_normal().string();
      out.push_back({set, n, dir, testing::read_wait_marks(dir)});
    }
  }
  return out;
}

// goid → its mark, from the runtime's dump of a run of p; mismatches between dump and marks are
// appended to `errors`. The first goroutine must be main, running; every other one must block
// on a marked line in an accepted reason, and each mark must count exactly its goroutines.
std::map<uint64_t, const WaitMark*> match_dump(const Program& p, const std::vector<DumpedGoroutine>& dump,
                                               const std::string& label, std::vector<std::string>& errors) {
  std::map<uint64_t, const WaitMark*> by_goid;
  if (dump.empty() || dump[0].status != "running" || !dump[0].created_by.file.empty()) {
    errors.push_back(label + ": the dump does not start with the running main goroutine");
    return by_goid;
  }
  std::map<const WaitMark*, int> seen;
  for (size_t i = 1; i < dump.size(); ++i) {
    const DumpedGoroutine& g = dump[i];
    const auto* frame = g.innermost_in(p.dir);
    const WaitMark* mark = frame ? p.mark_at(frame->file, frame->line) : nullptr;
    if (!mark) {
      errors.push_back(fmt::format("{}: goroutine {} [{}] blocks at {} with no wait mark there", label, g.goid, g.status,
                                   frame ? fmt::format("{}:{}", fs::path(frame->file).filename().string(), frame->line)
                                         : "no frame in " + p.dir));
      continue;
    }
    if (!mark->accepts(g.status))
      errors.push_back(fmt::format("{}: goroutine {} at line {} waits in [{}], not among the marked {}", label, g.goid,
                                   mark->line, g.status, fmt::join(mark->reasons, "|")));
    ++seen[mark];
    by_goid[g.goid] = mark;
  }
  for (const auto& m : p.marks)
    if (seen[&m] != m.count)
      errors.push_back(fmt::format("{}: line {} marks {} blocked goroutines, the runtime shows {}", label, m.line, m.count,
                                   seen[&m]));
  return by_goid;
}

// Recall is held at 100%: every goroutine the marks (or the runtime's profile) call leaked, gorepro
// calls leaked. The misses it once had (may_wake through a stale word in the runtime's own Ms and
// Ps: a page cache's base address, a gsignal's stack bound, a puintptr link) are gone since the
// scan reads runtime.m, runtime.p and runtime.g through their pointer words only, as the GC does
// (docs/verdicts.md, "The runtime's own structures").

std::string errors_text(const std::vector<std::string>& errors) {
  return fmt::format("{}", fmt::join(errors, "\n"));
}

std::string version_name(const ::testing::TestParamInfo<std::string>& info) {
  return testing::go_version_name(info.param);
}

// ---- the marks against the runtime ----------------------------------------------------------

class VerdictMarks : public ::testing::TestWithParam<std::string> {};

// Independent of gorepro: two runs of every program (the ending must not depend on the
// schedule), each program's runtime.Stack(all) at exit against its marks.
TEST_P(VerdictMarks, AgreeWithTheRuntimesGoroutineDumpAtExit) {
  const auto programs = verdict_programs();
  ASSERT_GE(programs.size(), 20u);
  std::vector<std::string> errors;
  for (const auto& p : programs) {
    for (int run = 1; run <= 2; ++run) {
      const std::string label = fmt::format("{} go{} run {}", p.name, GetParam(), run);
      auto r = testing::run({p.binary(GetParam())}, {kSelfCheck});
      if (r.exit_code != 0) {
        errors.push_back(fmt::format("{}: exit status {}: {}", label, r.exit_code, r.err.substr(0, 2000)));
        continue;
      }
      auto dump = testing::parse_goroutine_dump(testing::between_lines(r.err, "gorepro-dump-begin", "gorepro-dump-end"));
      match_dump(p, dump, label, errors);
    }
  }
  EXPECT_TRUE(errors.empty()) << errors_text(errors);
}

INSTANTIATE_TEST_SUITE_P(Go, VerdictMarks, ::testing::ValuesIn(testing::built_go_versions()), version_name);

// ---- gorepro's verdicts, read from report --json ----------------------------------------------

struct GoVerdict {
  std::string verdict;
  std::string evidence;
};

// Every verdict the report carries, by goid, wherever it puts them: an object with "verdict" and
// "goid" (one goroutine) or "goids" (a group). Returns false when no "verdict" field exists.
bool collect_verdicts(const nlohmann::json& j, std::map<uint64_t, GoVerdict>& out, std::vector<std::string>& errors) {
  bool any = false;
  if (j.is_object()) {
    if (auto v = j.find("verdict"); v != j.end() && v->is_string()) {
      any = true;
      GoVerdict gv{v->get<std::string>(), ""};
      if (auto e = j.find("verdict_evidence"); e != j.end() && !e->is_null())
        gv.evidence = e->is_string() ? e->get<std::string>() : e->dump();
      if (auto g = j.find("goid"); g != j.end() && g->is_number_unsigned()) {
        out[g->get<uint64_t>()] = gv;
      } else if (auto gs = j.find("goids"); gs != j.end() && gs->is_array()) {
        for (const auto& id : *gs) out[id.get<uint64_t>()] = gv;
      } else {
        errors.push_back("a \"verdict\" with neither \"goid\" nor \"goids\" beside it: " + j.dump());
      }
    }
  }
  if (j.is_object() || j.is_array())
    for (const auto& child : j) any = collect_verdicts(child, out, errors) || any;
  return any;
}

// Records p's binary with the ptrace backend (env passed on to the program), then reads the
// verdicts of `report --json`. Sets `has_verdicts`; the program's stderr (its dump) is returned.
struct Recorded {
  std::string stderr_text;
  std::map<uint64_t, GoVerdict> verdicts;
  bool has_verdicts = false;
};

Recorded record_and_judge(const Program& p, const std::string& version, const std::vector<std::string>& env,
                          std::vector<std::string>& errors, const std::string& backend = "ptrace") {
  Recorded out;
  const std::string trace = testing::scratch_file("verdict", fmt::format("{}-{}-{}.gtr", p.name, version, backend));
  auto rec = testing::run(
      {testing::gorepro_binary(), "record", "-q", "--backend", backend, "-o", trace, "--", p.binary(version)}, env);
  out.stderr_text = rec.err;
  if (rec.exit_code != 0) {
    errors.push_back(fmt::format("{} go{}: record exited {}: {}", p.name, version, rec.exit_code, rec.err.substr(0, 2000)));
    return out;
  }
  auto rep = testing::run({testing::gorepro_binary(), "report", "--format", "json", "--max-ids", "100000", trace});
  fs::remove(trace);
  if (rep.exit_code != 0) {
    errors.push_back(fmt::format("{} go{}: report exited {}: {}", p.name, version, rep.exit_code, rep.err));
    return out;
  }
  out.has_verdicts = collect_verdicts(nlohmann::json::parse(rep.out), out.verdicts, errors);
  return out;
}

// ---- Go 1.27's goroutineleak profile as the oracle ----------------------------------------------

// No miss is accepted. The one there was — sendtimeout under the profile, whose GC mark workers
// start on the stacks of exited request goroutines and whose frames' unwritten slots still held
// the answer channels — is gone since stacks are scanned through the GC's stack maps
// (dwarf/stackmap.h); deadslot pins the same kind of stale slot down deterministically.

// Go 1.27 alone: its goroutineleak profile is on by default (Go 1.26 has it only behind a
// GOEXPERIMENT at build time, older versions not at all), so only 1.27 binaries can ask for it.
TEST(VerdictOracle, RuntimeLeakProfileCallsLeakedExactlyTheMarkedLeaksAndGoreproCallsThemLeaked) {
  const std::string version = "1.27";
  const auto versions = testing::built_go_versions();
  if (std::find(versions.begin(), versions.end(), version) == versions.end())
    GTEST_SKIP() << "needs the Go 1.27 toolchain (the goroutineleak profile is on by default only there); testing "
                 << fmt::format("{}", fmt::join(versions, " "));
  const auto programs = verdict_programs();
  std::vector<std::string> errors;

  // Every goroutine the runtime calls leaked is marked leaked, and every marked leak is one the
  // runtime finds: the marks and the runtime's reachability argument say the same thing.
  auto check_profile = [&](const Program& p, const std::string& err, const std::string& label) {
    const std::string text = testing::between_lines(err, "gorepro-leakprofile-begin", "gorepro-leakprofile-end");
    if (text.empty()) {
      errors.push_back(label + ": no goroutineleak profile in the program's stderr: " + err.substr(0, 2000));
      return std::set<uint64_t>{};
    }
    auto gs = testing::parse_goroutine_dump(text);
    std::set<uint64_t> leaked;
    std::map<const WaitMark*, int> leaked_at;
    for (const auto& g : gs) {
      const auto* frame = g.innermost_in(p.dir);
      const WaitMark* mark = frame ? p.mark_at(frame->file, frame->line) : nullptr;
      if (g.leaked) {
        leaked.insert(g.goid);
        if (!mark || !mark->leaked())
          errors.push_back(fmt::format("{}: the runtime calls goroutine {} [{}] leaked; its line {} is {}", label, g.goid,
                                       g.status, frame ? frame->line : 0, mark ? "marked not leaked" : "not marked"));
        else
          ++leaked_at[mark];
      }
    }
    for (const auto& m : p.marks)
      if (m.leaked() && leaked_at[&m] != m.count)
        errors.push_back(fmt::format("{}: line {} marks {} leaked, the runtime's profile calls {} leaked", label, m.line,
                                     m.count, leaked_at[&m]));
    return leaked;
  };

  std::vector<const Program*> with_leaks;
  for (const auto& p : programs) {
    const std::string label = fmt::format("{} go{} (native)", p.name, version);
    auto r = testing::run({p.binary(version)}, {kLeakProfile});
    if (r.exit_code != 0) {
      errors.push_back(fmt::format("{}: exit status {}: {}", label, r.exit_code, r.err.substr(0, 2000)));
      continue;
    }
    if (!check_profile(p, r.err, label).empty()) with_leaks.push_back(&p);
  }
  ASSERT_TRUE(errors.empty()) << errors_text(errors);
  EXPECT_GE(with_leaks.size(), 10u) << "the leaking set";

  // gorepro, recording the same programs asking for the same profile: every goroutine the
  // runtime calls leaked in that run, gorepro calls leaked.
  int checked = 0, agreed = 0;
  for (const Program* p : with_leaks) {
    const std::string label = fmt::format("{} go{} (recorded)", p->name, version);
    const size_t before = errors.size();
    Recorded rec = record_and_judge(*p, version, {kLeakProfile}, errors);
    if (errors.size() > before) continue;
    if (!rec.has_verdicts) {
      EXPECT_TRUE(errors.empty()) << errors_text(errors);
      GTEST_SKIP() << kNoVerdicts;
    }
    for (uint64_t goid : check_profile(*p, rec.stderr_text, label)) {
      ++checked;
      auto v = rec.verdicts.find(goid);
      if (v == rec.verdicts.end())
        errors.push_back(fmt::format("{}: the runtime calls goroutine {} leaked; gorepro gives it no verdict", label, goid));
      else if (v->second.verdict != "leaked")
        errors.push_back(fmt::format("{}: the runtime calls goroutine {} leaked; gorepro says {} ({})", label, goid,
                                     v->second.verdict, v->second.evidence));
      else
        ++agreed;
    }
  }
  std::cout << fmt::format("goroutineleak oracle, go{}: gorepro calls leaked {} of the {} goroutines the runtime calls leaked\n",
                           version, agreed, checked);
  // Issue 15's done-when: every one of them.
  EXPECT_TRUE(errors.empty()) << errors_text(errors);
  EXPECT_EQ(agreed, checked);
}

// ---- every verdict against its mark -------------------------------------------------------------

class VerdictE2E : public ::testing::TestWithParam<std::string> {};

// What the verdict needs from a Go version (the layouts of mheap, mspan, sudog, hchan, the
// semaphore tables) is the same for every program, so the older versions record one program per
// kind of wait — channel send/receive, select, nil channel, select {}, Mutex, RWMutex,
// WaitGroup, Cond, sleep, timer, netpoller, and a stale stack slot (deadslot: it depends on how
// each compiler spills) — and the newest records them all: about 1 s per
// recording, ~75 over the versions instead of ~130, keeps the test's CI time near a minute.
const std::set<std::string> kEveryKindOfWait = {"sendtimeout", "selectmulti", "nilchan",    "selectforever",
                                                "doublelock",  "rlockforgot", "forgotdone", "condwait",
                                                "condforgot",  "mutexsleep",  "selecttimer", "netread",
                                                "deadslot"};

TEST_P(VerdictE2E, EveryBlockedGoroutinesVerdictIsItsMarkAndNoWaitingProgramLeaks) {
  const std::string version = GetParam();
  auto programs = verdict_programs();
  if (version != testing::newest_go_version())
    std::erase_if(programs, [](const Program& p) { return !kEveryKindOfWait.count(p.name); });
  std::vector<std::string> errors;
  struct Row {
    std::string set, name;
    int marked_leaked = 0, gorepro_leaked = 0, true_leaked = 0, blocked = 0, agree = 0;
  };
  std::vector<Row> rows;
  for (const auto& p : programs) {
    const std::string label = fmt::format("{} go{}", p.name, version);
    const size_t before = errors.size();
    Recorded rec = record_and_judge(p, version, {kSelfCheck}, errors);
    if (errors.size() > before) continue;
    if (!rec.has_verdicts) GTEST_SKIP() << kNoVerdicts;
    auto dump = testing::parse_goroutine_dump(testing::between_lines(rec.stderr_text, "gorepro-dump-begin", "gorepro-dump-end"));
    auto marks = match_dump(p, dump, label + " (recorded)", errors);
    Row row{p.set, p.name};
    for (const auto& [goid, mark] : marks) {
      ++row.blocked;
      if (mark->leaked()) ++row.marked_leaked;
      auto v = rec.verdicts.find(goid);
      if (v == rec.verdicts.end()) {
        errors.push_back(fmt::format("{}: goroutine {} (line {}) has no verdict", label, goid, mark->line));
        continue;
      }
      if (v->second.verdict == "leaked" && mark->leaked()) ++row.true_leaked;
      if (mark->accepts_verdict(v->second.verdict))
        ++row.agree;
      else
        errors.push_back(fmt::format("{}: goroutine {} blocked at line {}: marked {}, gorepro says {} ({})", label, goid,
                                     mark->line, fmt::join(mark->verdicts, "|"), v->second.verdict, v->second.evidence));
    }
    // Any goroutine at all that gorepro calls leaked counts, marked or not (the runtime's own
    // goroutines too): a waiting program has none.
    for (const auto& [goid, v] : rec.verdicts) {
      if (v.verdict != "leaked") continue;
      ++row.gorepro_leaked;
      if (!marks.count(goid))
        errors.push_back(fmt::format("{}: gorepro calls goroutine {} leaked, which blocks on no marked line ({})", label,
                                     goid, v.evidence));
    }
    rows.push_back(row);
  }

  // The precision table: per program, what the marks say against what gorepro says.
  std::string table = fmt::format("verdict precision, go{} (ptrace):\n{:<8} {:<14} {:>7} {:>13} {:>14} {:>10} {:>14}\n",
                                  version, "set", "program", "blocked", "marked leaked", "gorepro leaked",
                                  "both leak", "verdict = mark");
  Row total{"", "total"};
  for (const Row& r : rows) {
    table += fmt::format("{:<8} {:<14} {:>7} {:>13} {:>14} {:>10} {:>14}\n", r.set, r.name, r.blocked, r.marked_leaked,
                         r.gorepro_leaked, r.true_leaked, r.agree);
    total.blocked += r.blocked;
    total.marked_leaked += r.marked_leaked;
    total.gorepro_leaked += r.gorepro_leaked;
    total.true_leaked += r.true_leaked;
    total.agree += r.agree;
  }
  table += fmt::format("{:<8} {:<14} {:>7} {:>13} {:>14} {:>10} {:>14}\n", "", "total", total.blocked, total.marked_leaked,
                       total.gorepro_leaked, total.true_leaked, total.agree);
  table += fmt::format("leak precision {}/{}, leak recall {}/{}\n", total.true_leaked, total.gorepro_leaked,
                       total.true_leaked, total.marked_leaked);
  std::cout << table;
  // No goroutine called leaked that is not (precision), every marked leak leaked (recall), every
  // verdict of every program its mark: all of it is in `errors`.
  EXPECT_TRUE(errors.empty()) << errors_text(errors);
  EXPECT_EQ(total.true_leaked, total.marked_leaked);
}

INSTANTIATE_TEST_SUITE_P(Go, VerdictE2E, ::testing::ValuesIn(testing::built_go_versions()), version_name);

// ---- the gdb backend against ptrace -------------------------------------------------------------

class VerdictGdb : public ::testing::TestWithParam<std::string> {};

// `record --backend gdb` stops the program at runtime.exit (before its exit_group) and runs the
// same scan as ptrace at exit_group: per marked line, the same verdicts. What differs between
// the backends is only how the program is stopped and its registers read, not the scan, which
// VerdictE2E holds to every version; so the newest Go and 1.19 (the oldest layout) only, one
// program per kind of verdict (a channel leak, a semaphore leak, sleep and a mutex held by a
// sleeper, a select on a timer): a gdb recording takes a few seconds (gdb's start and
// breakpoints), ~25 s per version for the four. A difference is allowed, printed: a marked
// leak one backend calls may_wake (a stale word in a conservatively scanned stack or register) —
// seen under ptrace, one goroutine in sendtimeout and selectmulti, whose exiting thread still
// held a word, before the runtime's Ms and Ps were read through their pointer words only; gdb
// itself may miss at most one marked leak per version.
TEST_P(VerdictGdb, GdbGivesTheSameVerdictsAsPtracePerMarkedLine) {
  const std::string version = GetParam();
  if (version != testing::newest_go_version() && version != "1.19")
    GTEST_SKIP() << "gdb verdicts run on the newest Go and 1.19 only (slow; the scan itself is VerdictE2E's)";
  auto programs = verdict_programs();
  const std::set<std::string> kinds = {"sendtimeout", "forgotdone", "mutexsleep", "selecttimer"};
  std::erase_if(programs, [&](const Program& p) { return !kinds.count(p.name); });
  std::vector<std::string> errors, misses;
  int marked_leaked = 0, gdb_leaked = 0;
  for (const auto& p : programs) {
    std::map<std::string, std::map<int, std::multiset<std::string>>> by_backend;  // backend → line → verdicts
    for (const std::string backend : {"ptrace", "gdb"}) {
      const std::string label = fmt::format("{} go{} {}", p.name, version, backend);
      const size_t before = errors.size();
      Recorded rec = record_and_judge(p, version, {kSelfCheck}, errors, backend);
      if (errors.size() > before) continue;
      if (!rec.has_verdicts) {
        errors.push_back(label + ": no verdicts in the trace");
        continue;
      }
      auto dump = testing::parse_goroutine_dump(
          testing::between_lines(rec.stderr_text, "gorepro-dump-begin", "gorepro-dump-end"));
      for (const auto& [goid, mark] : match_dump(p, dump, label, errors)) {
        auto v = rec.verdicts.find(goid);
        by_backend[backend][mark->line].insert(v == rec.verdicts.end() ? "none" : v->second.verdict);
        if (backend == "gdb" && mark->leaked()) {
          ++marked_leaked;
          if (v != rec.verdicts.end() && v->second.verdict == "leaked") ++gdb_leaked;
        }
      }
    }
    for (const auto& m : p.marks) {
      const auto& a = by_backend["ptrace"][m.line];
      const auto& b = by_backend["gdb"][m.line];
      if (a == b) continue;
      const std::string text = fmt::format("{} go{} line {}: ptrace {}, gdb {}", p.name, version, m.line,
                                           fmt::join(a, ","), fmt::join(b, ","));
      const bool stale_word = m.leaked() && a.size() == b.size() &&
                              std::all_of(b.begin(), b.end(), [&](const std::string& x) { return m.accepts_verdict(x) || x == "may_wake"; });
      (stale_word ? misses : errors).push_back(text);
    }
  }
  std::cout << errors_text(misses) << "\n";
  EXPECT_TRUE(errors.empty()) << errors_text(errors);
  EXPECT_GE(gdb_leaked + 1, marked_leaked) << errors_text(misses);
}

INSTANTIATE_TEST_SUITE_P(Go, VerdictGdb, ::testing::ValuesIn(testing::built_go_versions()), version_name);

// ---- the scan's windows -------------------------------------------------------------------------

class VerdictWindows : public ::testing::TestWithParam<std::string> {};

// The scan reads the heap a window at a time, the next one on a second thread while it marks the
// current one (docs/verdicts.md, "Speed"). Every test program's heap fits in one 32 MiB window;
// GOREPRO_VERDICT_WINDOW_KIB=64 cuts heapwalk's ~5 MiB into ~80 windows that its walk (global
// head → 2048 shuffled nodes → a 64 KiB array, read apart → 2048 more → the waiters' channel)
// crosses back and forth. With either window every verdict must be its mark, and the waiters'
// channel credited to the one root that reaches it: what is marked, and by which root first,
// must not depend on the order the windows are read in. The newest Go and 1.19 only (the
// windows are the scan's, the same on every version; 1.19 has the oldest heap layout): four
// recordings, ~10 s.
TEST_P(VerdictWindows, SmallWindowsReadAheadGiveTheVerdictsOfOneBigWindow) {
  const std::string version = GetParam();
  if (version != testing::newest_go_version() && version != "1.19")
    GTEST_SKIP() << "the windows are tested on the newest Go and 1.19 only (the scan's code, not the version's)";
  const std::string dir = fs::path(testing::go_source_dir("tests/go/verdict/windowed/heapwalk")).lexically_normal().string();
  const Program p{"windowed", "heapwalk", dir, testing::read_wait_marks(dir)};
  ASSERT_EQ(p.marks.size(), 2u) << "heapwalk's marks: the waiters and the leakers";
  std::vector<std::string> errors;
  for (const std::string window : {"default", "64"}) {
    std::vector<std::string> env = {kSelfCheck};
    if (window != "default") env.push_back("GOREPRO_VERDICT_WINDOW_KIB=" + window);
    const std::string label = fmt::format("heapwalk go{} window {} KiB", version, window);
    const size_t before = errors.size();
    Recorded rec = record_and_judge(p, version, env, errors);
    if (errors.size() > before) continue;
    if (!rec.has_verdicts) GTEST_SKIP() << kNoVerdicts;
    auto dump = testing::parse_goroutine_dump(testing::between_lines(rec.stderr_text, "gorepro-dump-begin", "gorepro-dump-end"));
    for (const auto& [goid, mark] : match_dump(p, dump, label, errors)) {
      auto v = rec.verdicts.find(goid);
      const std::string verdict = v == rec.verdicts.end() ? "none" : v->second.verdict;
      if (!mark->accepts_verdict(verdict))
        errors.push_back(fmt::format("{}: goroutine {} blocked at line {}: marked {}, gorepro says {} ({})", label, goid,
                                     mark->line, fmt::join(mark->verdicts, "|"), verdict,
                                     v == rec.verdicts.end() ? "" : v->second.evidence));
      else if (!mark->leaked() && v->second.evidence.find("reachable from global main.head") == std::string::npos)
        errors.push_back(fmt::format("{}: goroutine {}'s channel is reachable through main.head only, gorepro says: {}",
                                     label, goid, v->second.evidence));
    }
  }
  EXPECT_TRUE(errors.empty()) << errors_text(errors);
}

INSTANTIATE_TEST_SUITE_P(Go, VerdictWindows, ::testing::ValuesIn(testing::built_go_versions()), version_name);

// ---- a goroutine running at the exit --------------------------------------------------------------

class VerdictRunning : public ::testing::TestWithParam<std::string> {};

// tests/go/runningstale: a goroutine spins on a thread of its own while the program exits; the
// dead frames below its SP hold 64 copies of the channel a leaked sender waits on. The GC scans a
// running goroutine from its SP, and so must gorepro: at exit_group, with the registers each
// thread had when the exit stopped it (ptrace), or as gdb stopped them at runtime.exit (gdb), its
// innermost frame conservatively and its callers through the stack maps. Scanned from the stack's
// bottom, for want of its thread's SP, the stale copies keep the channel and the sender "may
// still wake" — what ptrace said before it collected the other threads' exit stops, every run.
// Every version under ptrace; gdb on the newest and 1.19 (a gdb recording takes seconds). The
// evidence beside a running goroutine's verdict says where its thread was ("on thread N, in F").
// With the build before the fix, the ptrace case failed on every version.
TEST_P(VerdictRunning, ASenderLeakedOnAChannelOnlyDeadFramesOfARunningGoroutineHoldIsLeaked) {
  const std::string version = GetParam();
  const std::string dir = fs::path(testing::go_source_dir("tests/go/runningstale")).lexically_normal().string();
  const Program p{"", "runningstale", dir, {}, "runningstale"};
  std::vector<std::string> errors;
  std::vector<std::string> backends = {"ptrace"};
  if (version == testing::newest_go_version() || version == "1.19") backends.push_back("gdb");
  for (const std::string& backend : backends) {
    const std::string label = fmt::format("runningstale go{} {}", version, backend);
    const size_t before = errors.size();
    Recorded rec = record_and_judge(p, version, {}, errors, backend);
    if (errors.size() > before) continue;
    if (!rec.has_verdicts) {
      errors.push_back(label + ": no verdicts in the trace");
      continue;
    }
    auto dump = testing::parse_goroutine_dump(testing::between_lines(rec.stderr_text, "gorepro-dump-begin", "gorepro-dump-end"));
    std::vector<uint64_t> senders, spinners;
    for (const auto& g : dump) {
      const auto* frame = g.innermost_in(dir);
      if (g.status == "chan send") senders.push_back(g.goid);
      if (frame && g.status != "chan send" && g.created_by.file.find(dir) != std::string::npos) spinners.push_back(g.goid);
    }
    if (senders.size() != 1 || spinners.size() != 1) {
      errors.push_back(fmt::format("{}: the program's dump should show one sender in [chan send] and one spinner, it "
                                   "shows {} and {}:\n{}",
                                   label, senders.size(), spinners.size(), rec.stderr_text.substr(0, 3000)));
      continue;
    }
    auto sender = rec.verdicts.find(senders[0]);
    auto spinner = rec.verdicts.find(spinners[0]);
    // The spinner's thread in a signal handler at the stop (sysmon's SIGURG asks it to yield;
    // seen under gdb, ~1 run in 80 under load): the interrupted SP is in the signal frame, which
    // the scan does not read, so its whole stack is scanned (docs/verdicts.md, "Whole stack") and
    // the sender may be lost. A documented limit, not this test's case: said, not held.
    if (spinner != rec.verdicts.end() && spinner->second.evidence.find("off its stack") != std::string::npos) {
      std::cout << label << ": the spinner's thread was off its stack (a signal handler) this time: "
                << spinner->second.evidence << "\n";
      continue;
    }
    if (sender == rec.verdicts.end() || sender->second.verdict != "leaked")
      errors.push_back(fmt::format("{}: the sender (goroutine {}) is leaked; gorepro says {}", label, senders[0],
                                   sender == rec.verdicts.end() ? "nothing" : sender->second.verdict + " (" + sender->second.evidence + ")"));
    // Preempted at the exit (rare), the spinner is scanned from its g.sched, at a safe point: the
    // sender must be leaked all the same, but the case this test is for was not met.
    if (spinner == rec.verdicts.end() || spinner->second.verdict != "running")
      std::cout << label << ": the spinner was not running at the exit this time ("
                << (spinner == rec.verdicts.end() ? "no verdict" : spinner->second.verdict) << ")\n";
  }
  EXPECT_TRUE(errors.empty()) << errors_text(errors);
}

INSTANTIATE_TEST_SUITE_P(Go, VerdictRunning, ::testing::ValuesIn(testing::built_go_versions()), version_name);

}  // namespace
}  // namespace gorepro
