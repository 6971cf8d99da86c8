// "Growing and never woken" (issue 15's history signal, docs/verdicts.md): tests/go/neverwoken
// has three go statements, marked `// mark: NAME` — publishers that keep coming and block for
// good on a channel a global holds (reachability: may_wake), consumers that keep coming but are
// woken, and a pool that never grows — and only the publishers may be flagged: by `report`
// (JSON on every version; text, `export --format html` and `check --fail-if never_woken>0` on the
// newest). ptrace on every version (with verdicts), ebpf on the newest (no verdicts: the signal
// needs only the events).
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/marks.h"
#include "support/backends.h"
#include "support/go_programs.h"
#include "support/run.h"
#include "support/scratch.h"

namespace gorepro {
namespace {

struct SiteNumbers {
  uint64_t alive = 0, never_woken = 0;
  std::set<std::string> verdicts;
};

class NeverWokenE2E : public ::testing::TestWithParam<std::string> {};

TEST_P(NeverWokenE2E, OnlyTheGrowingSiteNobodyWakesIsFlagged) {
  const std::string version = GetParam();
  const std::string source = testing::go_source_dir("tests/go/neverwoken") + "/main.go";
  const auto lines = testing::read_marked_lines(source);
  ASSERT_EQ(lines.size(), 3u) << source;
  for (const std::string& backend : testing::mechanics_backends(version)) {
    SCOPED_TRACE(backend);
    const std::string trace = testing::scratch_file("neverwoken", fmt::format("{}-{}.gtr", backend, version));
    auto rec = testing::run({testing::gorepro_binary(), "record", "-q", "--backend", backend, "-o", trace, "--",
                             testing::go_program("neverwoken", version, false)});
    ASSERT_EQ(rec.exit_code, 0) << rec.err;
    auto rep = testing::run({testing::gorepro_binary(), "report", "--format", "json", trace});
    ASSERT_EQ(rep.exit_code, 0) << rep.err;
    const auto j = nlohmann::json::parse(rep.out);
    std::map<std::string, SiteNumbers> by_site;
    for (const auto& g : j["groups"]) {
      if (!g["creation_site"]["file"].get<std::string>().ends_with("neverwoken/main.go")) continue;
      for (const auto& [name, line] : lines) {
        if (g["creation_site"]["line"] != line) continue;
        by_site[name].alive += g["alive"].get<uint64_t>();
        by_site[name].never_woken += g["never_woken"].get<uint64_t>();
        if (g.contains("verdict") && !g["verdict"].is_null()) by_site[name].verdicts.insert(g["verdict"]);
      }
    }
    EXPECT_EQ(by_site["publish"].alive, 40u);
    EXPECT_EQ(by_site["publish"].never_woken, 40u) << rep.out.substr(0, 4000);
    EXPECT_EQ(by_site["consume"].alive, 40u);
    EXPECT_EQ(by_site["consume"].never_woken, 0u);
    EXPECT_EQ(by_site["pool"].alive, 6u);
    EXPECT_EQ(by_site["pool"].never_woken, 0u);
    EXPECT_EQ(j["never_woken"], 40);
    // With verdicts (ptrace), reachability cannot see this leak: a global holds the channel.
    if (backend == "ptrace") {
      EXPECT_EQ(by_site["publish"].verdicts, std::set<std::string>{"may_wake"});
    }

    // How the signal is shown and gated on does not depend on the Go version: newest only, to
    // keep the test near half a minute over all versions.
    if (version != testing::newest_go_version()) continue;
    auto text = testing::run({testing::gorepro_binary(), "report", trace});
    EXPECT_NE(text.out.find(fmt::format("GROWING, NEVER WOKEN: 40 alive")), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("history: 40 goroutines in 1 group growing and never woken"), std::string::npos)
        << text.out;

    const std::string html = testing::scratch_file("neverwoken", fmt::format("{}-{}.html", backend, version));
    auto exp = testing::run({testing::gorepro_binary(), "export", "--format", "html", "-o", html, trace});
    if (exp.exit_code == 0) {
      std::stringstream page;
      page << std::ifstream(html).rdbuf();
      EXPECT_NE(page.str().find("\"never_woken\":40"), std::string::npos);
    }

    auto held = testing::run({testing::gorepro_binary(), "check", trace, "--fail-if", "never_woken>=40"});
    EXPECT_EQ(held.exit_code, 1) << held.out << held.err;
    auto consume = testing::run({testing::gorepro_binary(), "check", trace, "--fail-if",
                                 fmt::format("site=main.go:{} never_woken>0 or site=main.go:{} never_woken>0",
                                             lines.at("consume"), lines.at("pool"))});
    EXPECT_EQ(consume.exit_code, 0) << consume.out << consume.err;
  }
}

INSTANTIATE_TEST_SUITE_P(Go, NeverWokenE2E, ::testing::ValuesIn(testing::built_go_versions()),
                         [](const auto& info) { return testing::go_version_name(info.param); });

}  // namespace
}  // namespace gorepro
