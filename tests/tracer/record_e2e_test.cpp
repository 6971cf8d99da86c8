// gorepro record + report over the examples, as a user runs them: every supported Go version,
// plain and stripped (ptrace; tests/bpf's EbpfCrossCheck holds ebpf to the same goroutines on
// every example and version). Expected leaks come from the `// want leak:` marks in the example sources
// and creation counts from the `gorepro-count` lines the programs print — never from gorepro.
#include <gtest/gtest.h>

#include <dirent.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <regex>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/marks.h"
#include "dwarf/go_binary.h"
#include "replay/trace_reader.h"
#include "support/backends.h"
#include "support/go_programs.h"
#include "support/run.h"
#include "support/scratch.h"
#include "support/trace_checks.h"

namespace gorepro {
namespace {

namespace fs = std::filesystem;
using testing::go_program;
using testing::run;

std::string temp_trace(const std::string& name) { return testing::scratch_file("e2e", name + ".gtr"); }

// "gorepro-count main.go:12 8" lines: go statements executed per site.
std::map<std::string, int> printed_counts(const std::string& out) {
  std::map<std::string, int> counts;
  std::regex re(R"(gorepro-count (\S+):(\d+) (\d+))");
  for (std::sregex_iterator it(out.begin(), out.end(), re), e; it != e; ++it) {
    counts[(*it)[1].str() + ":" + (*it)[2].str()] += std::stoi((*it)[3]);
  }
  return counts;
}

struct Case {
  std::string example;
  std::string version;
  bool stripped;
};

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  std::string v = info.param.version;
  v.erase(std::remove(v.begin(), v.end(), '.'), v.end());
  return info.param.example + "_go" + v + (info.param.stripped ? "_stripped" : "");
}

class RecordExample : public ::testing::TestWithParam<Case> {};

TEST_P(RecordExample, ReportsExactlyTheMarkedLeaksAndCountsEveryGoStatement) {
  const Case& c = GetParam();
  const std::string binary = go_program(c.example, c.version, c.stripped);
  const std::string trace = temp_trace(case_name({c, 0}));
  auto rec = run({testing::gorepro_binary(), "record", "-q", "-o", trace, "--", binary});
  ASSERT_EQ(rec.exit_code, 0) << rec.err;
  auto marks = testing::read_leak_marks(testing::go_source_dir("examples/" + c.example));

  auto rep = run({testing::gorepro_binary(), "report", "--format", "json", trace});
  ASSERT_EQ(rep.exit_code, 0) << rep.err;
  auto j = nlohmann::json::parse(rep.out);

  // Every group belongs to a mark; per mark, the alive goroutines add up to its count.
  std::map<std::pair<std::string, int>, int> alive_at;
  for (const auto& g : j["groups"]) {
    std::string file = g["creation_site"]["file"];
    int line = g["creation_site"]["line"];
    const testing::LeakMark* mark = nullptr;
    for (const auto& m : marks) {
      if (m.file == file && m.line == line) mark = &m;
    }
    ASSERT_NE(mark, nullptr) << "unexpected group " << g.dump();
    EXPECT_EQ(g["state"], "waiting") << g.dump();
    EXPECT_TRUE(mark->accepts(g["wait_reason"].get<std::string>())) << g.dump();
    alive_at[{file, line}] += g["alive"].get<int>();
  }
  for (const auto& m : marks) {
    EXPECT_EQ((alive_at[{m.file, m.line}]), m.count) << m.file << ":" << m.line;
  }

  // Leak verdicts (record's heap scan of the program stopped at its exit; a stripped binary gets
  // the same, held to the same marks: GoBinary finds mheap_ and semtable in the runtime's code),
  // per marked go statement against the verdicts its mark says they deserve (`-> ...`, all
  // leaked by default): where something that can run still reaches what they wait on the mark
  // says may_wake and why (tickerleak, nestedleak's sessions).
  {
    ASSERT_FALSE(j["verdicts"].is_null()) << "no verdicts in the trace: " << rec.err;
    std::map<std::pair<std::string, int>, std::map<std::string, int>> verdicts_at;
    for (const auto& g : j["groups"]) {
      auto& at = verdicts_at[{g["creation_site"]["file"], g["creation_site"]["line"]}];
      for (const auto& m : g["goroutines"]) at[m["verdict"].get<std::string>()]++;
    }
    // Exactly as many leaked, may_wake and time_io as the mark says. This was a bound on
    // leaked once (~1 run in 60 lost some to a stale word still pointing at a leaked
    // goroutine's channel or WaitGroup: nestedleak, ctxleak, wgleak, mutexleak); the stacks
    // read through the GC's stack maps, the globals through its masks, a goroutine running at
    // the exit from its own thread's SP, and the registers of running goroutines' threads only
    // took those stale words away.
    for (const auto& m : marks) {
      auto& got = verdicts_at[{m.file, m.line}];
      const std::string where = fmt::format("{}:{} (marked {} leaked, {} may_wake, {} time_io{})", m.file, m.line,
                                            m.count_with("leaked"), m.count_with("may_wake"),
                                            m.count_with("time_io"), m.why.empty() ? "" : ": " + m.why);
      EXPECT_EQ(got["leaked"], m.count_with("leaked")) << where << "\n" << rep.out;
      EXPECT_EQ(got["may_wake"], m.count_with("may_wake")) << where << "\n" << rep.out;
      EXPECT_EQ(got["time_io"], m.count_with("time_io")) << where << "\n" << rep.out;
      EXPECT_EQ(got["leaked"] + got["may_wake"] + got["time_io"], m.count) << where << "\n" << rep.out;
    }
  }

  // Creations per go statement, decoded from the trace and symbolized, equal what ran.
  auto expected = printed_counts(rec.out);
  ASSERT_FALSE(expected.empty()) << "the example printed no gorepro-count lines: " << rec.out;
  auto reader = replay::TraceReader::open(trace);
  ASSERT_TRUE(reader) << reader.error().message();
  EXPECT_EQ(testing::trace_violations(**reader), "");
  auto bin = GoBinary::open(binary);
  ASSERT_TRUE(bin);
  std::map<std::string, int> created;
  replay::Event e;
  for (auto cur = (*reader)->cursor(); cur.next(e);) {
    if (e.kind != replay::EventKind::Create) continue;
    auto frames = (*bin)->symbolizer().frames(e.pc - 1);
    if (frames.empty() || frames[0].file.find(c.example) == std::string::npos) continue;
    created[fs::path(frames[0].file).filename().string() + ":" + std::to_string(frames[0].line)]++;
  }
  EXPECT_EQ(created, expected);
}

std::vector<Case> all_cases() {
  std::vector<Case> out;
  for (const auto& ex : testing::example_names()) {
    for (const auto& v : testing::built_go_versions()) {
      for (bool s : {false, true}) out.push_back({ex, v, s});
    }
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Examples, RecordExample, ::testing::ValuesIn(all_cases()), case_name);

// Every built Go version with the backends its mechanics are tested under (support/backends.h).
std::vector<std::pair<std::string, std::string>> versions_and_backends() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& v : testing::built_go_versions()) {
    for (const auto& b : testing::mechanics_backends(v)) out.emplace_back(v, b);
  }
  return out;
}

TEST(Record, ControlExampleHasNoGroupAndCheckPasses) {
  for (const auto& v : testing::built_go_versions()) {
    std::string trace = temp_trace("noleak-check-" + v);
    auto rec = run({testing::gorepro_binary(), "record", "-q", "-o", trace, "--", go_program("noleak", v, false)});
    ASSERT_EQ(rec.exit_code, 0) << rec.err;
    auto check = run({testing::gorepro_binary(), "check", trace});
    EXPECT_EQ(check.exit_code, 0) << v << check.out << check.err;
    std::string leaky = temp_trace("sendleak-check-" + v);
    ASSERT_EQ(run({testing::gorepro_binary(), "record", "-q", "-o", leaky, "--", go_program("sendleak", v, false)}).exit_code, 0);
    EXPECT_EQ(run({testing::gorepro_binary(), "check", leaky}).exit_code, 1) << v;
  }
}

TEST(Record, PositionIndependentExecutableReportsTheSameLeak) {
  auto marks = testing::read_leak_marks(testing::go_source_dir("examples/sendleak"));
  ASSERT_EQ(marks.size(), 1u);
  for (const auto& [v, backend] : versions_and_backends()) {
    SCOPED_TRACE(v + " " + backend);
    std::string trace = temp_trace("pie-" + v + backend);
    auto rec = run({testing::gorepro_binary(), "record", "-q", "--backend", backend, "-o", trace, "--",
                    testing::go_program("sendleak", v, false) + ".pie"});
    ASSERT_EQ(rec.exit_code, 0) << rec.err;
    auto rep = run({testing::gorepro_binary(), "report", "--format", "json", trace});
    auto j = nlohmann::json::parse(rep.out);
    ASSERT_EQ(j["groups"].size(), 1u) << rep.out;
    EXPECT_EQ(j["groups"][0]["creation_site"]["file"], marks[0].file);
    EXPECT_EQ(j["groups"][0]["creation_site"]["line"], marks[0].line);
    EXPECT_EQ(j["groups"][0]["alive"], marks[0].count);
    EXPECT_TRUE(marks[0].accepts(j["groups"][0]["wait_reason"].get<std::string>()));
  }
}

TEST(Record, ExitsWithTheProgramsStatusAndPassesOutputThrough) {
  std::string v = testing::built_go_versions().back();
  for (const auto& backend : testing::mechanics_backends(v)) {
    SCOPED_TRACE(backend);
    auto plain = run({go_program("sendleak", v, false)});
    auto rec = run({testing::gorepro_binary(), "record", "-q", "--backend", backend, "-o",
                    temp_trace("passthrough" + backend), "--", go_program("sendleak", v, false)});
    EXPECT_EQ(rec.exit_code, plain.exit_code);
    EXPECT_EQ(rec.out, plain.out);
    // A program that exits non-zero: `go` builds of sigtest exit 0, so use a failing flag.
    auto bad = run({testing::gorepro_binary(), "record", "-q", "--backend", backend, "-o",
                    temp_trace("badflag" + backend), "--", go_program("attachtarget", v, false), "-no-such-flag"});
    auto bad_plain = run({go_program("attachtarget", v, false), "-no-such-flag"});
    EXPECT_NE(bad_plain.exit_code, 0);
    EXPECT_EQ(bad.exit_code, bad_plain.exit_code);
  }
}

TEST(Record, ChildProcessesRunUntracedAndTheRecordingGoesOn) {
  for (const auto& [v, backend] : versions_and_backends()) {
    std::string bin = go_program("exectarget", v, false);
    auto plain = run({bin, "-mode", "child"});
    auto traced = run({testing::gorepro_binary(), "record", "-q", "--backend", backend, "-o",
                       temp_trace("child" + v + backend), "--", bin, "-mode", "child"});
    EXPECT_EQ(traced.exit_code, 0) << traced.err;
    EXPECT_EQ(traced.out, plain.out) << v << " " << backend;
    EXPECT_NE(plain.out.find("child says hello"), std::string::npos);
  }
}

TEST(Record, ExecEndsTheRecordingAndTheNewProgramRunsOn) {
  for (const auto& [v, backend] : versions_and_backends()) {
    SCOPED_TRACE(backend);
    std::string bin = go_program("exectarget", v, false);
    auto plain = run({bin, "-mode", "exec"});
    std::string trace = temp_trace("exec" + v + backend);
    auto traced = run({testing::gorepro_binary(), "record", "-q", "--backend", backend, "-o", trace, "--", bin, "-mode", "exec"});
    EXPECT_EQ(plain.exit_code, 3);
    EXPECT_EQ(traced.exit_code, plain.exit_code) << traced.err;
    EXPECT_EQ(traced.out, plain.out) << v;
    EXPECT_NE(traced.err.find("called exec"), std::string::npos) << traced.err;
    EXPECT_EQ(run({testing::gorepro_binary(), "report", trace}).exit_code, 0);
    // Exec into another Go program, linked at the same addresses: the old image's breakpoints
    // must not be "restored" into the new one's code.
    std::string other = go_program("sendleak", v, false);
    auto other_plain = run({other});
    auto into_go = run({testing::gorepro_binary(), "record", "-q", "--backend", backend, "-o",
                        temp_trace("exec-go" + v + backend), "--", bin, "-mode", "exec", "-exec", other});
    EXPECT_EQ(into_go.exit_code, other_plain.exit_code) << into_go.err;
    EXPECT_EQ(into_go.out, "worker done\n" + other_plain.out) << v;
  }
}

TEST(Record, SignalDependentProgramBehavesAsUntraced) {
  for (const auto& [v, backend] : versions_and_backends()) {
    auto plain = run({go_program("sigtest", v, false)});
    ASSERT_EQ(plain.exit_code, 0) << plain.err;
    auto traced = run({testing::gorepro_binary(), "record", "-q", "--backend", backend, "-o",
                       temp_trace("sig" + v + backend), "--", go_program("sigtest", v, false)});
    EXPECT_EQ(traced.exit_code, 0) << v << " " << backend << traced.err;
    EXPECT_EQ(traced.out, plain.out) << v << " " << backend;
  }
}

// One line on stderr, "gorepro: " first, and the given exit code.
void expect_one_line_error(const testing::RunResult& r, int code, const std::string& needle) {
  EXPECT_EQ(r.exit_code, code) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.rfind("gorepro: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
}

TEST(RecordErrors, OneLineErrorsWithHints) {
  std::string g = testing::gorepro_binary();
  std::string go = go_program("sendleak", testing::built_go_versions().back(), false);
  expect_one_line_error(run({g, "record", "--pid", "999999999"}), 1, "no process with pid");
  expect_one_line_error(run({g, "record", "-o", temp_trace("ls"), "--", "/bin/true"}), 1, "not a Go binary");
  expect_one_line_error(run({g, "record", "-o", "/nonexistent-dir/x.gtr", "--", go}), 1, "cannot write the trace file");
  expect_one_line_error(run({g, "record", "--", "no-such-program-xyz"}), 1, "command not found");
  expect_one_line_error(run({g, "record"}), 2, "nothing to record");
  expect_one_line_error(run({g, "record", "--duration", "soon", "--", go}), 2, "invalid --duration");
}

}  // namespace
}  // namespace gorepro
