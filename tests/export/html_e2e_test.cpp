// `gorepro export --format html` opened in headless Chromium (Debian's, driven by playwright-core
// from web/package-lock.json through html_check.cjs): the page must load with no console error
// and no network request, chart one series per go statement ending at the counts `report --json`
// gives, draw the flame graph with the live goroutines at its root, and show a group's stacks when
// its row is clicked. The witness is `gorepro report --format json` of the same trace, not the
// page's own embedded data. A screenshot is kept in the build directory (artifacts/) for CI.
#include <filesystem>
#include <map>
#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/go_programs.h"
#include "support/run.h"
#include "support/scratch.h"

namespace gorepro {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::gorepro_binary;
using testing::run;

// The export reads a trace: what it draws does not depend on the Go version that made the trace
// (the version matrix is the recorder's, tested elsewhere), so this runs on the newest only.
TEST(ExportHtml, PageLoadsOfflineAndShowsTheReportsGroupsChartAndFlameGraph) {
  const std::string version = testing::newest_go_version();
  if (const char* only = std::getenv("GOREPRO_TEST_GO"); only && *only && version != only)
    GTEST_SKIP() << "runs with the newest toolchain only (" << version << "): the export reads a trace";
  const std::string node = GOREPRO_NODE, chromium = GOREPRO_CHROMIUM;
  const fs::path web = fs::path(GOREPRO_SOURCE_DIR) / "web";
  if (node.empty() || !fs::exists(node)) GTEST_SKIP() << "no node — install the Debian package nodejs (scripts/setup.sh)";
  if (chromium.empty() || !fs::exists(chromium)) GTEST_SKIP() << "no chromium — install the Debian package chromium (scripts/setup.sh)";
  if (!fs::exists(web / "node_modules" / "playwright-core"))
    GTEST_SKIP() << "web/node_modules has no playwright-core — run `npm ci` in web/ (scripts/setup.sh does)";

  // nestedleak: three go statements leaking three ways (its source's `want leak` marks). Its
  // dumps at a fixed 5 ms, several of them for the gcount overlay: paced, this short program's
  // 3 ms dumps stretch the interval past its run and leave it one sample.
  const std::string trace = testing::scratch_file("export-html", "nestedleak.gtr");
  auto rec = run({gorepro_binary(), "record", "-q", "--schedtrace=5", "--schedtrace-fixed", "--scheddetail", "-o", trace, "--",
                  testing::go_program("nestedleak", version, false)});
  ASSERT_EQ(rec.exit_code, 0) << rec.err;
  auto rep = run({gorepro_binary(), "report", "--format", "json", trace});
  ASSERT_EQ(rep.exit_code, 0) << rep.err;
  const json report = json::parse(rep.out);
  std::map<std::pair<std::string, int>, int64_t> want;  // alive per go statement (file, line)
  int64_t alive = 0;
  for (const json& g : report["groups"]) {
    want[{g["creation_site"]["file"], g["creation_site"]["line"]}] += g["alive"].get<int64_t>();
    alive += g["alive"].get<int64_t>();
  }
  ASSERT_EQ(want.size(), 3u) << rep.out;

  const fs::path artifacts = fs::path(GOREPRO_ARTIFACTS_DIR);
  fs::create_directories(artifacts);
  const std::string html = (artifacts / "html-report.html").string();
  const std::string png = (artifacts / "html-report.png").string();
  auto exp = run({gorepro_binary(), "export", "--format", "html", "-o", html, trace});
  if (exp.exit_code != 0 && exp.err.find("without the HTML report's chart libraries") != std::string::npos)
    GTEST_SKIP() << exp.err;
  ASSERT_EQ(exp.exit_code, 0) << exp.err;

  auto check = run({node, (fs::path(GOREPRO_SOURCE_DIR) / "tests/export/html_check.cjs").string(), web.string(), chromium,
                    html, png});
  ASSERT_EQ(check.exit_code, 0) << check.err;
  const json page = json::parse(check.out);
  EXPECT_EQ(page["errors"], json::array()) << check.out;
  EXPECT_EQ(page["requests"], json::array()) << check.out;

  std::map<std::pair<std::string, int>, int64_t> charted;
  for (const json& s : page["series"]) {
    if (s.contains("gcount")) continue;  // the schedtrace overlay, not a go statement
    ASSERT_FALSE(s["site"].is_null()) << "a series merges several go statements: " << s;
    auto key = std::make_pair(s["site"]["file"].get<std::string>(), s["site"]["line"].get<int>());
    EXPECT_FALSE(charted.count(key)) << "two series for one go statement: " << s;
    charted[key] = s["final"].get<int64_t>();
  }
  EXPECT_EQ(charted, want) << check.out;
  EXPECT_TRUE(page["series"].back().contains("gcount")) << "recorded with --scheddetail: gcount is overlaid";

  for (const char* kind : {"block", "creation"}) {
    SCOPED_TRACE(kind);
    EXPECT_EQ(page["flame"][kind]["kind"], kind);
    EXPECT_EQ(page["flame"][kind]["root"], alive);
    EXPECT_GT(page["flame"][kind]["nodes"].get<int>(), 3);  // root, main's frames, the leaf
  }

  // The first group's row opens its block and creation stacks and timelines of its goroutines.
  ASSERT_FALSE(page["clicked"].is_null());
  std::set<std::string> shown(page["clicked"]["frames"].begin(), page["clicked"]["frames"].end());
  const json& first = report["groups"][0];
  for (const char* stack : {"block_stack", "creation_stack"})
    for (const json& f : first[stack]) EXPECT_TRUE(shown.count(f["function"])) << stack << ": " << f << " not in " << check.out;
  EXPECT_GT(page["clicked"]["timelines"].get<int>(), 0) << check.out;
  EXPECT_GT(page["clicked"]["segments"].get<int>(), 0) << check.out;
  EXPECT_TRUE(fs::file_size(png) > 10000) << png;
}

TEST(ExportHtml, BadOutputDirectoryIsAOneLineError) {
  auto r = run({gorepro_binary(), "export", "--format", "html", "-o", "/nonexistent/dir/report.html",
                testing::go_source_dir("tests/data/sendleak-go1.22.gtr")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

}  // namespace
}  // namespace gorepro
