// pprof labels end to end: examples/labelleak tags each request with pprof.Labels("handler",
// KIND) and leaks only in its "slow" handler. Its source says how many leak (`// want leak:`)
// and which kind does (the requests list and the handler's budget); the tests hold gorepro's
// label grouping and filters to that, on every Go version built — both forms of g.labels (a
// map up to Go 1.23, a slice from 1.24), from DWARF and from the checked-in layout table
// (stripped), under ptrace and under snapshots.
#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/marks.h"
#include "support/go_programs.h"
#include "support/run.h"
#include "support/scratch.h"

namespace gorepro {
namespace {

namespace fs = std::filesystem;
using testing::go_program;
using testing::gorepro_binary;
using testing::run;

std::string temp_trace(const std::string& name) { return testing::scratch_file("labels-e2e", name + ".gtr"); }

nlohmann::json report_json(const std::string& trace, std::vector<std::string> extra) {
  std::vector<std::string> argv = {gorepro_binary(), "report", "--format", "json", trace};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto r = run(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json::object();
}

uint64_t alive(const nlohmann::json& report) {
  uint64_t n = 0;
  for (const auto& g : report["groups"]) n += g["alive"].get<uint64_t>();
  return n;
}

struct Config {
  std::string name;
  std::vector<std::string> record_args;
  bool stripped = false;
};

class LabelsRecorded : public ::testing::TestWithParam<std::string> {};

TEST_P(LabelsRecorded, GroupByHandlerLabelNamesTheSlowKindWithTheMarkedCountAndOkHasNoLeak) {
  const std::string v = GetParam();
  auto marks = testing::read_leak_marks(testing::go_source_dir("examples/labelleak"));
  ASSERT_EQ(marks.size(), 1u);
  const testing::LeakMark& mark = marks[0];
  for (const Config& c : {Config{"ptrace", {}, false}, Config{"ptrace-stripped", {}, true},
                          // The exit state held for 3 intervals, so a snapshot reads it.
                          Config{"snapshot", {"--snapshot", "50ms"}, false}}) {
    SCOPED_TRACE(c.name);
    // Stripped (the layout table) and snapshots read labels with the same code as ptrace; the
    // table's label offsets are held to DWARF on every version by
    // GoBinary.LabelLayoutFromDwarfEqualsTheTableAndHasOneForm. So these run on the newest only
    // (CI time), ptrace on every version (both forms of g.labels).
    if (c.name != "ptrace" && v != testing::newest_go_version()) continue;
    const std::string trace = temp_trace(fmt::format("labelleak-{}-{}", v, c.name));
    std::vector<std::string> argv = {gorepro_binary(), "record", "-q", "-o", trace};
    argv.insert(argv.end(), c.record_args.begin(), c.record_args.end());
    argv.insert(argv.end(), {"--", go_program("labelleak", v, c.stripped)});
    auto rec = run(argv, {"GOREPRO_EXAMPLE_HOLD=150ms"});
    ASSERT_EQ(rec.exit_code, 0) << rec.err;

    auto by_label = report_json(trace, {"--group-by", "label:handler"});
    EXPECT_EQ(by_label["group_by"], "label:handler");
    ASSERT_EQ(by_label["groups"].size(), 1u) << by_label["groups"].dump(1);
    const auto& g = by_label["groups"][0];
    EXPECT_EQ(g["label"]["key"], "handler");
    EXPECT_EQ(g["label"]["value"], "slow");
    EXPECT_EQ(g["alive"], mark.count);
    EXPECT_EQ(g["mixed"], false);
    EXPECT_TRUE(mark.accepts(g["wait_reason"].get<std::string>())) << g["wait_reason"];
    ASSERT_EQ(g["sites"].size(), 1u);
    EXPECT_EQ(g["sites"][0]["creation_site"]["line"], mark.line);
    EXPECT_EQ(g["sites"][0]["alive"], mark.count);

    // Grouped by site, the group carries the label sets of its goroutines.
    auto by_site = report_json(trace, {});
    ASSERT_EQ(by_site["groups"].size(), 1u);
    EXPECT_EQ(by_site["groups"][0]["labels"],
              nlohmann::json::parse(fmt::format(R"([{{"labels": {{"handler": "slow"}}, "count": {}}}])", mark.count)));

    // The rest reads the trace, not the recording: once per version (both label forms).
    if (c.name != "ptrace") continue;
    // Filters: ok requests leak nothing, slow ones all of it; ANDed with a label nobody has.
    auto ok = report_json(trace, {"--label", "handler=ok"});
    EXPECT_EQ(alive(ok), 0u);
    EXPECT_EQ(ok["hidden"]["without_labels_asked_for"], mark.count);
    EXPECT_EQ(alive(report_json(trace, {"--label", "handler=slow"})), static_cast<uint64_t>(mark.count));
    EXPECT_EQ(alive(report_json(trace, {"--label", "handler=slow", "--label", "user=7"})), 0u);
    EXPECT_EQ(run({gorepro_binary(), "check", trace, "--label", "handler=ok", "--max-leaked", "0"}).exit_code, 0);
    EXPECT_EQ(run({gorepro_binary(), "check", trace, "--label", "handler=slow", "--max-leaked", "0"}).exit_code, 1);

    // The folded export with the label at the root: every leaked stack under label:handler=slow.
    auto folded = run({gorepro_binary(), "export", "--format", "folded", "--group-by", "label:handler", trace});
    ASSERT_EQ(folded.exit_code, 0) << folded.err;
    EXPECT_TRUE(folded.out.starts_with("label:handler=slow;")) << folded.out;
    EXPECT_EQ(folded.out.find("label:handler=ok"), std::string::npos) << folded.out;

    // pprof: the labels are sample labels, which go tool pprof filters on as on the runtime's
    // own goroutine profile. One reading, on the newest toolchain's pprof: the labels are the
    // same bytes whatever version recorded them (the formats are held above on every version).
    if (v != testing::newest_go_version()) continue;
    const std::string profile = trace + ".pb.gz";
    // The toolchain's cache (pprof may be built on demand) and no binary lookup.
    const std::vector<std::string> pprof_env = {
        "GOCACHE=" + (fs::path(GOREPRO_GO_CACHE) / ("go" + v)).string(), "PPROF_BINARY_PATH=/nonexistent",
        "PPROF_TMPDIR=" + fs::path(trace).parent_path().string()};
    auto exp = run({gorepro_binary(), "export", "--format", "pprof", "-o", profile, trace});
    ASSERT_EQ(exp.exit_code, 0) << exp.err;
    auto top = run({testing::go_tool(v), "tool", "pprof", "-tagfocus=handler=slow", "-traces", profile},
                   pprof_env);
    ASSERT_EQ(top.exit_code, 0) << top.err;
    EXPECT_NE(top.out.find(fmt::format("{}   runtime.gopark", mark.count)), std::string::npos) << top.out;
    EXPECT_NE(top.out.find("handler:  slow"), std::string::npos) << top.out;
    auto none = run({testing::go_tool(v), "tool", "pprof", "-tagfocus=handler=ok", "-traces", profile},
                    pprof_env);
    EXPECT_EQ(none.out.find("runtime.gopark"), std::string::npos) << none.out;
  }
}

TEST(LabelsCli, BadLabelFilterAndGroupByAreOneLineErrors) {
  auto r = run({gorepro_binary(), "report", "--label", "handler", "/nonexistent.gtr"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("cannot read --label 'handler' — give KEY=VALUE"), std::string::npos) << r.err;
  r = run({gorepro_binary(), "report", "--group-by", "label:", "/nonexistent.gtr"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--group-by site or --group-by label:KEY"), std::string::npos) << r.err;
}

std::string version_name(const ::testing::TestParamInfo<std::string>& info) { return testing::go_version_name(info.param); }
INSTANTIATE_TEST_SUITE_P(GoVersions, LabelsRecorded, ::testing::ValuesIn(testing::built_go_versions()), version_name);

}  // namespace
}  // namespace gorepro
