// The object a goroutine parks on (the trace's park `object`, which `report` groups as
// "blocked on"), held to addresses tests/go/parkobjects prints itself: a channel wait's object is
// its hchan, a select's one of its channels, and a Mutex or WaitGroup wait's the address of the
// sync type's semaphore field — not the runtime's semtable bucket the park is handed, which
// unrelated semaphores share. Under every recording backend: the ebpf programs walk the bucket's
// treap in the kernel as the ptrace decoder does in gorepro, and the walk depends on each
// version's sudog and semaRoot layout.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/marks.h"
#include "support/backends.h"
#include "support/go_programs.h"
#include "support/run.h"
#include "support/scratch.h"

namespace gorepro {
namespace {

using testing::run;

class ParkObject : public ::testing::TestWithParam<std::string> {};

void check_objects(const std::string& binary, const std::string& backend, const std::string& trace);

TEST_P(ParkObject, EachGroupIsBlockedOnTheObjectTheProgramPrinted) {
  const std::string version = GetParam();
  const std::string binary = testing::go_program("parkobjects", version, false);
  for (const std::string& backend : testing::recording_backends()) {
    SCOPED_TRACE(backend);
    check_objects(binary, backend,
                  testing::scratch_file("parkobj", "parkobjects_" + testing::go_version_name(version) + "_" + backend + ".gtr"));
  }
}

void check_objects(const std::string& binary, const std::string& backend, const std::string& trace) {
  auto rec = run({testing::gorepro_binary(), "record", "-q", "--no-verdict", "--backend", backend, "-o", trace, "--", binary});
  ASSERT_EQ(rec.exit_code, 0) << rec.err;
  // "object MARK 0xADDR [0xADDR]": what each mark's goroutines may be parked on.
  std::map<std::string, std::set<std::string>> printed;
  std::istringstream lines(rec.out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string tag, mark, addr;
    words >> tag >> mark;
    if (tag != "object") continue;
    while (words >> addr) printed[mark].insert(addr);
  }
  ASSERT_EQ(printed.size(), 5u) << rec.out;

  const std::string source = testing::go_source_dir("tests/go/parkobjects/main.go");
  const auto marked = testing::read_marked_lines(source);
  const std::map<std::string, int> count = {{"send", 3}, {"recv", 2}, {"select", 2}, {"mutex", 3}, {"waitgroup", 2}};
  auto rep = run({testing::gorepro_binary(), "report", "--json", trace});
  ASSERT_EQ(rep.exit_code, 0) << rep.err;
  auto j = nlohmann::json::parse(rep.out);
  std::map<std::string, int> seen;
  for (const auto& g : j["groups"]) {
    std::string mark;
    for (const auto& [name, line] : marked) {
      if (g["creation_site"]["file"] == source && g["creation_site"]["line"] == line) mark = name;
    }
    if (mark.empty()) continue;
    for (const auto& o : g["blocked_on"]) {
      EXPECT_TRUE(printed[mark].count(o["object"].get<std::string>())) << mark << ": " << o.dump() << "\n" << rec.out;
      seen[mark] += o["goroutines"].get<int>();
    }
    // One object: the group says so in words.
    if (mark != "select") {
      EXPECT_EQ(g["blocked_on"].size(), 1u) << g.dump();
    }
  }
  for (const auto& [mark, n] : count) EXPECT_EQ(seen[mark], n) << mark << "\n" << rep.out;

  auto text = run({testing::gorepro_binary(), "report", trace});
  EXPECT_NE(text.out.find("blocked on:    the same object " + *printed["mutex"].begin() + " (all 3)"), std::string::npos)
      << text.out;
}

INSTANTIATE_TEST_SUITE_P(Versions, ParkObject, ::testing::ValuesIn(testing::built_go_versions()),
                         [](const auto& info) { return testing::go_version_name(info.param); });

}  // namespace
}  // namespace gorepro
