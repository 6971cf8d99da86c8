// Go binaries whose build-info blob a release process removed: a program built by the test suite
// with each toolchain (plain, stripped, PIE), its .go.buildinfo zeroed in a copy — what a stripped
// release binary without the blob looks like — must still be a Go binary to gorepro: `info`
// names the version the runtime itself reports, `record` traces it and `report` finds the leaks
// its source marks. Expected values come from the toolchain (`go version` of the original binary)
// and the `// want leak:` marks, never from gorepro.
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "binary_edits.h"
#include "common/marks.h"
#include "dwarf/elf_file.h"
#include "dwarf/go_binary.h"
#include "support/go_programs.h"
#include "support/run.h"
#include "support/scratch.h"

namespace gorepro {
namespace {

using testing::built_go_versions;
using testing::go_program;

const char kProgram[] = "sendleak";

// The version the toolchain itself reads from the original binary (`go version BINARY`).
std::string toolchain_version(const std::string& version, const std::string& binary) {
  auto r = testing::run({testing::go_root(version) + "/bin/go", "version", binary}, {"GOTOOLCHAIN=local"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // "BINARY: go1.26.8"
  size_t at = r.out.rfind(": go");
  return at == std::string::npos ? "" : r.out.substr(at + 2, r.out.find_first_of(" \n", at + 2) - at - 2);
}

struct Variant {
  const char* suffix;
  bool dwarf;
};
const Variant kVariants[] = {{"", true}, {".stripped", false}, {".pie", true}};

TEST(NoBuildInfo, InfoNamesTheRuntimesVersionAndTheSameLayout) {
  for (const std::string& v : built_go_versions()) {
    for (const Variant& var : kVariants) {
      const std::string original = go_program(kProgram, v, false) + var.suffix;
      SCOPED_TRACE(original);
      const std::string want = toolchain_version(v, original);
      ASSERT_EQ(want.rfind("go" + v, 0), 0u) << want;
      const std::string copy = testing::without_build_info(
          original, testing::scratch_file("nobuildinfo", fmt::format("{}-{}{}", kProgram, v, var.suffix)));
      auto b = GoBinary::open(copy);
      ASSERT_TRUE(b) << b.error().message();
      EXPECT_EQ((*b)->go_version(), want);
      EXPECT_EQ((*b)->build_info().version_source, "runtime.buildVersion");
      EXPECT_EQ((*b)->has_dwarf(), var.dwarf);
      EXPECT_TRUE((*b)->warning().empty()) << (*b)->warning();

      // gorepro info: the same as for the original, apart from what the blob alone carried.
      auto a = testing::run({testing::gorepro_binary(), "info", "--format", "json", original});
      auto c = testing::run({testing::gorepro_binary(), "info", "--format", "json", copy});
      ASSERT_EQ(a.exit_code, 0) << a.err;
      ASSERT_EQ(c.exit_code, 0) << c.err;
      EXPECT_EQ(c.err, "");
      auto ja = nlohmann::json::parse(a.out), jc = nlohmann::json::parse(c.out);
      EXPECT_EQ(jc["go_version"], want);
      EXPECT_EQ(ja["go_version"], want);
      EXPECT_EQ(jc["version_source"], "runtime.buildVersion");
      EXPECT_EQ(ja["version_source"], "build info");
      for (const char* k : {"binary", "module", "version_source"}) {
        ja.erase(k);
        jc.erase(k);
      }
      EXPECT_EQ(ja, jc);
    }
  }
}

TEST(NoBuildInfo, RecordAndReportStillFindTheMarkedLeak) {
  auto marks = testing::read_leak_marks(testing::go_source_dir(std::string("examples/") + kProgram));
  ASSERT_EQ(marks.size(), 1u);
  for (const std::string& v : built_go_versions()) {
    for (const Variant& var : kVariants) {
      const std::string copy = testing::without_build_info(
          go_program(kProgram, v, false) + var.suffix,
          testing::scratch_file("nobuildinfo", fmt::format("rec-{}-{}{}", kProgram, v, var.suffix)));
      SCOPED_TRACE(copy);
      const std::string trace = copy + ".gtr";
      auto rec = testing::run({testing::gorepro_binary(), "record", "-q", "-o", trace, "--", copy});
      ASSERT_EQ(rec.exit_code, 0) << rec.err;
      EXPECT_EQ(rec.err.find("warning"), std::string::npos) << rec.err;
      auto rep = testing::run({testing::gorepro_binary(), "report", "--format", "json", trace});
      ASSERT_EQ(rep.exit_code, 0) << rep.err;
      auto j = nlohmann::json::parse(rep.out);
      ASSERT_EQ(j["groups"].size(), 1u) << rep.out;
      const auto& g = j["groups"][0];
      EXPECT_EQ(g["alive"], marks[0].count) << rep.out;
      EXPECT_TRUE(marks[0].accepts(g["wait_reason"].get<std::string>())) << rep.out;
      EXPECT_EQ(g["creation_site"]["line"], marks[0].line) << rep.out;
    }
  }
}

}  // namespace
}  // namespace gorepro
