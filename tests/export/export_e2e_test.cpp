// `gorepro export` over traces recorded from real Go programs, every Go version built. Each
// format is read back by the tools it is for or checked against a witness that is not
// gorepro's export: the program's own runtime/pprof goroutine profile, `gorepro report`'s live
// count, the trace's own state changes.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "replay/goroutine_table.h"
#include "replay/schedtrace.h"
#include "replay/trace_reader.h"
#include "support/go_programs.h"
#include "support/run.h"
#include "support/scratch.h"

namespace gorepro {
namespace {

namespace fs = std::filesystem;
using testing::go_program;
using testing::gorepro_binary;
using testing::run;
using Stack = std::vector<std::string>;  // function names, leaf first

std::string scratch(const std::string& name) { return testing::scratch_file("export-e2e", name); }

// `go tool pprof ARGS...` with the toolchain that built the program.
testing::RunResult go_pprof(const std::string& version, std::vector<std::string> args) {
  std::vector<std::string> argv = {testing::go_tool(version), "tool", "pprof"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, {"GOCACHE=" + (fs::path(GOREPRO_GO_CACHE) / ("go" + version)).string(),
                    "PPROF_TMPDIR=" + fs::path(scratch("pprof-tmp")).string(), "PPROF_BINARY_PATH=/nonexistent"});
}

// Samples of `go tool pprof -traces`: per sample its value, stack and labels.
struct Trace {
  int64_t value = 0;
  Stack stack;
  std::map<std::string, std::string> labels;
};
std::vector<Trace> parse_traces(const std::string& text) {
  std::vector<Trace> out;
  std::istringstream in(text);
  bool in_sample = false;
  // "%10s   %s": a frame, the sample's value on its first; "%10s:  %s": a label (longer keys
  // push the colon right).
  static const std::regex frame(R"(^([ 0-9]{10})   (.+)$)"), label(R"(^ *([A-Za-z_]+):  (.*)$)");
  std::smatch m;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("-----------+")) {
      out.emplace_back();
      in_sample = true;
    } else if (!in_sample) {
      continue;
    } else if (std::regex_match(line, m, frame)) {
      std::string value = m[1];
      value.erase(0, value.find_first_not_of(' '));
      if (!value.empty()) out.back().value = std::stoll(value);
      std::string name = m[2];
      if (name.ends_with(" (inline)")) name.resize(name.size() - 9);
      out.back().stack.push_back(name);
    } else if (std::regex_match(line, m, label)) {
      out.back().labels[m[1]] = m[2];
    }
  }
  if (!out.empty() && out.back().stack.empty()) out.pop_back();  // the closing separator
  return out;
}

// What the two profiles may disagree on, trimmed the same way on both sides: from the leaf,
// every frame of package runtime up to the first outside it (where exactly in the scheduler
// the stack was taken: gopark or the probe on park); at the root, runtime.goexit, then the
// wrapper the compiler generates for `go f(args)` (main.main.func1 before Go 1.22,
// main.main.gowrap1 since), which the runtime's traceback elides as a wrapper and a
// frame-pointer walk does not (pprofleak's main has no closure of its own).
Stack trim(Stack s) {
  static const std::regex wrapper(R"(^main\.main\.(func|gowrap)\d+$)");
  size_t leaf = 0;
  while (leaf < s.size() && s[leaf].starts_with("runtime.")) ++leaf;
  s.erase(s.begin(), s.begin() + static_cast<long>(leaf));
  if (!s.empty() && s.back() == "runtime.goexit") s.pop_back();
  if (!s.empty() && std::regex_match(s.back(), wrapper)) s.pop_back();
  return s;
}

std::string show(const std::map<Stack, int64_t>& m) {
  std::string out;
  for (const auto& [s, n] : m) out += fmt::format("  {} x {}\n", n, fmt::join(s, " < "));
  return out;
}

int line_of(const std::string& file, const std::string& needle) {
  std::ifstream in(file);
  int n = 0;
  for (std::string line; std::getline(in, line);)
    if (++n, line.find(needle) != std::string::npos) return n;
  return 0;
}

struct Recording {
  std::string trace, own_profile;
};

// pprofleak recorded once per Go version, with its own goroutine profile beside the trace.
const Recording& recorded(const std::string& version) {
  static std::map<std::string, Recording> cache;
  auto [it, inserted] = cache.try_emplace(version);
  if (inserted) {
    it->second.trace = scratch("pprofleak-" + version + ".gtr");
    it->second.own_profile = scratch("pprofleak-" + version + ".own.pb.gz");
    auto r = run({gorepro_binary(), "record", "-q", "-o", it->second.trace, "--", go_program("pprofleak", version, false)},
                 {"GOREPRO_PPROF_OUT=" + it->second.own_profile});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("leaked 14"), std::string::npos) << r.out;
  }
  return it->second;
}

std::string version_name(const ::testing::TestParamInfo<std::string>& info) { return testing::go_version_name(info.param); }

class ExportRecorded : public ::testing::TestWithParam<std::string> {};

TEST_P(ExportRecorded, PprofHasTheGoroutineCountPerStackOfTheProgramsOwnProfile) {
  const Recording& rec = recorded(GetParam());
  const std::string exported = scratch("pprofleak-" + GetParam() + ".gorepro.pb.gz");
  auto e = run({gorepro_binary(), "export", "--format", "pprof", "-o", exported, rec.trace});
  ASSERT_EQ(e.exit_code, 0) << e.err;

  auto own = go_pprof(GetParam(), {"-traces", rec.own_profile});
  ASSERT_EQ(own.exit_code, 0) << own.err;
  auto ours = go_pprof(GetParam(), {"-traces", exported});
  ASSERT_EQ(ours.exit_code, 0) << ours.err;

  // The main goroutine is writing the profile in one and hidden as the runtime's in the other
  // (`report` hides it too: it starts in runtime.main).
  std::map<Stack, int64_t> want, got;
  for (const Trace& t : parse_traces(own.out)) {
    if (std::find(t.stack.begin(), t.stack.end(), "main.main") != t.stack.end()) continue;
    want[trim(t.stack)] += t.value;
  }
  int64_t total = 0;
  for (const Trace& t : parse_traces(ours.out)) {
    got[trim(t.stack)] += t.value;
    total += t.value;
    EXPECT_EQ(t.labels.count("go_statement"), 1u) << fmt::format("{}", fmt::join(t.stack, " < "));
    EXPECT_EQ(t.labels.count("state"), 1u);
  }
  EXPECT_EQ(total, 14) << ours.out;
  EXPECT_EQ(got, want) << "gorepro:\n" << show(got) << "runtime/pprof:\n" << show(want);

  // pprof's other views read it too: -top names the leaking functions, and -tagfocus on the
  // go statement keeps exactly the goroutines it started.
  auto top = go_pprof(GetParam(), {"-top", exported});
  ASSERT_EQ(top.exit_code, 0) << top.err;
  EXPECT_NE(top.out.find("main.sendForever"), std::string::npos) << top.out;
  const std::string source = testing::go_source_dir("tests/go/pprofleak/main.go");
  const int send_line = line_of(source, "go sendForever(");
  ASSERT_GT(send_line, 0);
  auto focused = go_pprof(GetParam(), {"-traces", fmt::format("-tagfocus=go_statement=main.go:{}$", send_line), exported});
  ASSERT_EQ(focused.exit_code, 0) << focused.err;
  int64_t sends = 0;
  for (const Trace& t : parse_traces(focused.out)) {
    sends += t.value;
    EXPECT_NE(std::find(t.stack.begin(), t.stack.end(), "main.sendForever"), t.stack.end());
  }
  EXPECT_EQ(sends, 5) << focused.out;
}

// Sums the counts of folded lines "a;b;c N".
int64_t folded_total(const std::string& text, size_t* lines) {
  int64_t total = 0;
  *lines = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    auto space = line.rfind(' ');
    EXPECT_NE(space, std::string::npos) << line;
    if (space == std::string::npos) continue;
    total += std::stoll(line.substr(space + 1));
    ++*lines;
  }
  return total;
}

TEST_P(ExportRecorded, FoldedCountsSumToTheLiveGoroutinesOfReportAtTheSamePoint) {
  const Recording& rec = recorded(GetParam());
  auto reader = replay::TraceReader::open(rec.trace);
  ASSERT_TRUE(reader.ok());
  const uint64_t n = (*reader)->event_count();
  ASSERT_GT(n, 10u);
  for (const std::string& at : {std::string(), std::to_string(n / 2)}) {
    for (const std::string stack : {"block", "creation"}) {
      SCOPED_TRACE("--at " + (at.empty() ? "end" : at) + " --stack " + stack);
      std::vector<std::string> args = {gorepro_binary(), "export", "--format", "folded", "--stack", stack, rec.trace};
      std::vector<std::string> report = {gorepro_binary(), "report", "--format", "json", rec.trace};
      if (!at.empty()) args.insert(args.end(), {"--at", at}), report.insert(report.end(), {"--at", at});
      auto f = run(args);
      ASSERT_EQ(f.exit_code, 0) << f.err;
      auto r = run(report);
      ASSERT_EQ(r.exit_code, 0) << r.err;
      const nlohmann::json doc = nlohmann::json::parse(r.out);
      int64_t alive = 0;
      for (const auto& g : doc["groups"]) alive += g["alive"].get<int64_t>();
      size_t lines = 0;
      EXPECT_EQ(folded_total(f.out, &lines), alive) << f.out;
      if (at.empty()) {
        EXPECT_EQ(alive, 14);
        EXPECT_NE(f.out.find(stack == "block" ? "main.sendForever" : "main.main"), std::string::npos) << f.out;
      }
    }
  }
}

TEST_P(ExportRecorded, PerfettoIsWellFormedWithASlicePerStateAGoroutineEntered) {
  const Recording& rec = recorded(GetParam());
  const std::string out = scratch("pprofleak-" + GetParam() + ".json");
  auto e = run({gorepro_binary(), "export", "--format", "perfetto", "--all", "-o", out, rec.trace});
  ASSERT_EQ(e.exit_code, 0) << e.err;
  std::ifstream in(out);
  nlohmann::json doc = nlohmann::json::parse(in);  // throws (fails the test) on invalid JSON
  ASSERT_TRUE(doc["traceEvents"].is_array());

  std::map<uint64_t, int64_t> track_pid;  // tid (goid) → its one process
  std::map<uint64_t, size_t> slices;
  std::map<std::pair<int64_t, std::string>, double> last_counter_ts;
  std::set<int64_t> named_pids;
  for (const auto& ev : doc["traceEvents"]) {
    const std::string ph = ev["ph"];
    ASSERT_NE(ph, "B") << ev.dump();  // complete slices only: nothing to pair
    if (ph == "M" && ev["name"] == "process_name") named_pids.insert(ev["pid"].get<int64_t>());
    if (ph == "M" && ev["name"] == "thread_name") {
      auto [it, inserted] = track_pid.emplace(ev["tid"].get<uint64_t>(), ev["pid"].get<int64_t>());
      EXPECT_TRUE(inserted) << "a second track for goroutine " << ev["tid"];
    }
    if (ph == "X") {
      EXPECT_GE(ev["dur"].get<double>(), 0.0) << ev.dump();
      EXPECT_GE(ev["ts"].get<double>(), 0.0) << ev.dump();
      const uint64_t goid = ev["tid"];
      ASSERT_TRUE(track_pid.count(goid)) << "slice before its track is named: " << ev.dump();
      EXPECT_EQ(track_pid[goid], ev["pid"].get<int64_t>());
      ++slices[goid];
    }
    if (ph == "C") {
      auto key = std::make_pair(ev["pid"].get<int64_t>(), ev["name"].get<std::string>());
      double ts = ev["ts"];
      if (last_counter_ts.count(key)) {
        EXPECT_GE(ts, last_counter_ts[key]) << ev.dump();
      }
      last_counter_ts[key] = ts;
    }
  }
  for (const auto& [goid, pid] : track_pid) EXPECT_TRUE(named_pids.count(pid)) << "unnamed process " << pid;

  // The witness: the trace replayed event by event, every goroutine's (state, wait reason)
  // compared before and after — each value a goroutine enters (dead aside) is one slice.
  auto reader = replay::TraceReader::open(rec.trace);
  ASSERT_TRUE(reader.ok());
  replay::GoroutineTable table;
  std::map<uint64_t, std::pair<replay::GoState, uint32_t>> before;
  std::map<uint64_t, size_t> entered;
  auto cursor = (*reader)->cursor();
  for (replay::Event ev; cursor.next(ev);) {
    table.apply(ev);
    std::map<uint64_t, std::pair<replay::GoState, uint32_t>> now;
    for (const auto& [goid, g] : table.goroutines())
      if (g.state != replay::GoState::Dead)
        now[goid] = {g.state, g.state == replay::GoState::Waiting ? g.wait_reason : 0};
    for (const auto& [goid, s] : now)
      if (auto it = before.find(goid); it == before.end() || it->second != s) ++entered[goid];
    before = std::move(now);
  }
  EXPECT_EQ(slices, entered);
  EXPECT_EQ(track_pid.size(), entered.size());
}

// Schedtrace samples become counters, one per sample, in time order. What no Go version
// changes: the newest toolchain alone.
TEST(ExportSchedtrace, EverySampleIsAGcountAndARunqueueCounter) {
  const std::string version = testing::newest_go_version();
  if (const char* only = std::getenv("GOREPRO_TEST_GO"); only && *only && version != only)
    GTEST_SKIP() << "runs with the newest toolchain only (" << version << ")";
  const std::string trace = scratch("pprofleak-schedtrace.gtr");
  auto r = run({gorepro_binary(), "record", "-q", "--schedtrace=20", "--scheddetail", "-o", trace, "--",
                go_program("pprofleak", version, false)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto reader = replay::TraceReader::open(trace);
  ASSERT_TRUE(reader.ok());
  size_t samples = 0;
  auto cursor = (*reader)->cursor();
  for (replay::Event ev; cursor.next(ev);)
    if (ev.kind == replay::EventKind::Sched && replay::parse_sched_block((*reader)->string(ev.text)).ok()) ++samples;
  ASSERT_GT(samples, 0u) << "the recording has no schedtrace sample";

  const std::string out = scratch("pprofleak-schedtrace.json");
  auto e = run({gorepro_binary(), "export", "--format", "perfetto", "-o", out, trace});
  ASSERT_EQ(e.exit_code, 0) << e.err;
  std::ifstream in(out);
  nlohmann::json doc = nlohmann::json::parse(in);
  std::map<std::string, size_t> counters;
  double last = -1;
  for (const auto& ev : doc["traceEvents"]) {
    if (ev["ph"] != "C" || ev["pid"] != 1) continue;
    ++counters[ev["name"].get<std::string>()];
    if (ev["name"] == "gcount") {
      EXPECT_GE(ev["ts"].get<double>(), last);
      last = ev["ts"];
      EXPECT_GT(ev["args"]["gcount"].get<int64_t>(), 0);
    }
  }
  EXPECT_EQ(counters["gcount"], samples);
  EXPECT_EQ(counters["runqueue"], samples);
}

INSTANTIATE_TEST_SUITE_P(GoVersions, ExportRecorded, ::testing::ValuesIn(testing::built_go_versions()), version_name);

// Bad input: one line naming the problem and what to do, exit 2, no output file left behind.
// (The checked-in traces name a binary that is gone: a warning line says so first.)
void expect_one_line_error(const testing::RunResult& r, const std::string& about, const std::string& out) {
  EXPECT_EQ(r.exit_code, 2) << r.err;
  std::vector<std::string> errors;
  std::istringstream in(r.err);
  for (std::string line; std::getline(in, line);)
    if (!line.starts_with("gorepro: warning: ")) errors.push_back(line);
  ASSERT_EQ(errors.size(), 1u) << r.err;
  EXPECT_TRUE(errors[0].starts_with("gorepro: ")) << r.err;
  EXPECT_NE(errors[0].find(" — "), std::string::npos) << "no hint: " << r.err;
  EXPECT_NE(errors[0].find(about), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out)) << out;
  EXPECT_FALSE(fs::exists(out + ".partial")) << out;
}

TEST(ExportBadInput, ANonTraceFileIsAOneLineError) {
  const std::string bad = scratch("not-a-trace.gtr");
  std::ofstream(bad) << "package main\n";
  const std::string out = scratch("not-a-trace.folded");
  expect_one_line_error(run({gorepro_binary(), "export", "--format", "folded", "-o", out, bad}), "not-a-trace.gtr", out);
}

TEST(ExportBadInput, ATraceCutInsideItsHeaderIsAOneLineError) {
  const std::string whole = testing::go_source_dir("tests/data/sendleak-go1.22.gtr");
  const std::string cut = scratch("cut.gtr");
  std::ifstream in(whole, std::ios::binary);
  std::string bytes(24, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  std::ofstream(cut, std::ios::binary) << bytes;
  const std::string out = scratch("cut.pb.gz");
  expect_one_line_error(run({gorepro_binary(), "export", "--format", "pprof", "-o", out, cut}), "cut.gtr", out);
}

TEST(ExportBadInput, AnUnknownFormatIsAOneLineError) {
  const std::string out = scratch("x.svg");
  expect_one_line_error(
      run({gorepro_binary(), "export", "--format", "svg", "-o", out, testing::go_source_dir("tests/data/sendleak-go1.22.gtr")}),
      "--format", out);
}

TEST(ExportBadInput, AnAtPastTheEndIsAOneLineError) {
  const std::string out = scratch("past.json");
  expect_one_line_error(run({gorepro_binary(), "export", "--format", "perfetto", "--at", "99999999", "-o", out,
                             testing::go_source_dir("tests/data/sendleak-go1.22.gtr")}),
                        "--at", out);
}

}  // namespace
}  // namespace gorepro
