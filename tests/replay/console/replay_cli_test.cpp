// `gorepro replay` and `gorepro diff` as a user runs them: a person at the prompt (through a
// pseudo-terminal: typing, editing, recalling history, reading the screen), scripts in CI
// (-x, --script, stdin; --json; exit codes; byte-identical output), and diff's verdicts.
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "console_scenario.h"
#include "json_lines.h"
#include "support/go_programs.h"
#include "support/run.h"
#include "support/terminal.h"

namespace gorepro::replay {
namespace {

using namespace testing;
using gorepro::testing::gorepro_binary;
using gorepro::testing::run;
using gorepro::testing::Terminal;

class ReplayCli : public ::testing::Test {
 protected:
  void SetUp() override { trace_ = scenario_.write("cli.gtr"); }
  ConsoleScenario scenario_;
  std::string trace_;
};

TEST_F(ReplayCli, PersonAtThePromptStepsEditsAndRecallsHistory) {
  Terminal t({gorepro_binary(), "replay", trace_});
  ASSERT_TRUE(t.started());
  ASSERT_TRUE(t.wait_for(fmt::format("(gorepro start/{}) ", scenario_.events))) << t.screen();
  // The binary is gone: sites are raw PCs. Site A's go statement is 0x401005.
  t.type("next create ^0x401005$\r");
  ASSERT_TRUE(t.wait_for("g10 created by g1")) << t.screen();
  ASSERT_TRUE(t.wait_for(fmt::format("(gorepro {}/", scenario_.create_seq[10]))) << t.screen();
  t.type("\x1b[A\r");  // up arrow: the same command again, from history
  ASSERT_TRUE(t.wait_for("g11 created by g1")) << t.screen();
  ASSERT_TRUE(t.wait_for(") ")) << t.screen();
  t.type("prev\r");
  ASSERT_TRUE(t.wait_for(fmt::format("event {}", scenario_.create_seq[11] - 1))) << t.screen();
  ASSERT_TRUE(t.wait_for(") ")) << t.screen();
  t.type("wherx\x7f" "e\r");  // a typo fixed with backspace
  ASSERT_TRUE(t.wait_for("block stack:")) << t.screen();
  ASSERT_TRUE(t.wait_for(") ")) << t.screen();
  t.type("fly\r");
  ASSERT_TRUE(t.wait_for("unknown command 'fly'")) << t.screen();
  ASSERT_TRUE(t.wait_for(") ")) << t.screen();
  t.type("goroutine 11\r");
  ASSERT_TRUE(t.wait_for("parks: chan send")) << t.screen();
  ASSERT_TRUE(t.wait_for(") ")) << t.screen();
  t.type("quit\r");
  EXPECT_EQ(t.wait_exit(), 0) << t.screen();
}

TEST_F(ReplayCli, CtrlDLeavesThePrompt) {
  Terminal t({gorepro_binary(), "replay", trace_});
  ASSERT_TRUE(t.wait_for("(gorepro start/")) << t.screen();
  // The prompt can show a moment before the line editor has put the terminal in its own mode.
  // A Ctrl-D typed in that moment is lost, or (seen on a loaded machine: libedit then shows
  // "^D" at the prompt) ends up in the line, where a further Ctrl-D deletes nothing and so does
  // not end input. A person would clear the line (Ctrl-U) and press Ctrl-D again; so does this.
  int status = -1;
  for (int attempt = 0; attempt < 3 && status == -1; ++attempt) {
    t.type(attempt == 0 ? "\x04" : "\x15\x04");
    status = t.wait_exit(2000);
  }
  EXPECT_EQ(status, 0) << t.screen();
}

TEST_F(ReplayCli, ScriptPrintsOneJsonObjectPerCommand) {
  auto r = run({gorepro_binary(), "replay", trace_, "--json", "-x",
                "next create ^0x401005$; next create ^0x401005$ ; where; sites"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 4u) << r.out;
  EXPECT_EQ(lines[0]["event"]["goid"], scenario_.goids_a[0]);
  EXPECT_EQ(lines[1]["event"]["goid"], scenario_.goids_a[1]);
  EXPECT_EQ(lines[2]["command"], "where");
  EXPECT_EQ(lines[2]["event"]["seq"], scenario_.create_seq[scenario_.goids_a[1]]);
  EXPECT_EQ(lines[3]["command"], "sites");
  EXPECT_NE(r.err.find("raw PCs"), std::string::npos) << "the warning goes to stderr: " << r.err;
}

TEST_F(ReplayCli, SameTraceAndScriptGiveByteIdenticalOutput) {
  std::string script = scratch_path("walk.txt");
  std::ofstream(script) << "# walk the trace\nbreak ^0x401105$\ncontinue; continue\ngoroutines\n"
                           "goroutine 21\nsites\ngoto end\nrc\nsched\nprev park\nwhere\n";
  for (const char* mode : {"--json", "--script"}) {
    std::vector<std::string> argv = {gorepro_binary(), "replay", trace_, "--script", script};
    if (std::string(mode) == "--json") argv.push_back("--json");
    auto a = run(argv), b = run(argv);
    ASSERT_EQ(a.exit_code, 0) << a.err;
    EXPECT_FALSE(a.out.empty());
    EXPECT_EQ(a.out, b.out);
  }
}

TEST_F(ReplayCli, FailingScriptCommandNamesFileLineAndCommandAndExitsOne) {
  std::string script = scratch_path("fails.txt");
  std::ofstream(script) << "next\n\n# nothing at line 21 of this trace\nnext create main.go:9999\nwhere\n";
  auto r = run({gorepro_binary(), "replay", trace_, "--script", script});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(script + ":4: 'next create main.go:9999': no create at main.go:9999 after event 0"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.out.find("event 0"), std::string::npos) << "commands before the failure ran: " << r.out;
  EXPECT_EQ(r.out.find("creation stack"), std::string::npos) << "commands after it did not: " << r.out;
}

TEST_F(ReplayCli, MistypedScriptCommandIsAUsageErrorExitingTwo) {
  auto r = run({gorepro_binary(), "replay", trace_, "-x", "next; nxet 3"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("-x: 'nxet 3': unknown command 'nxet'"), std::string::npos) << r.err;
  r = run({gorepro_binary(), "replay", trace_, "--script", "/nonexistent/script"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("cannot read script"), std::string::npos) << r.err;
  r = run({gorepro_binary(), "replay", "/nonexistent/trace.gtr", "-x", "where"});
  EXPECT_EQ(r.exit_code, 2);
}

TEST_F(ReplayCli, CommandsPipedOnStdinRunWithoutAPrompt) {
  auto r = run({"/bin/sh", "-c", fmt::format("printf 'goto end\\nprev exit\\n' | {} replay {}", gorepro_binary(), trace_)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("(gorepro"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(fmt::format("event {}", scenario_.exit_seq[22] )), std::string::npos) << r.out;
}

// diff over two hand-made traces: the same program (same PCs), once leaking more at site A.
TEST(DiffCli, NamesTheSiteThatGrewAndFailsOnGrowthBeyondTheLimit) {
  auto write = [](const std::string& name, int leaks_a) {
    return write_trace(name, [&](TraceWriter& w) {
      StackId s = w.intern_stack(std::vector<uint64_t>{ConsoleScenario::kGopark, ConsoleScenario::kSendRet});
      uint64_t t = 1'000'001'000, goid = 10;
      for (int i = 0; i < 4; ++i, ++goid) {  // site B: always 4 created, 1 left alive
        must(w.append(Event::create(t++, 1, 1, goid, ConsoleScenario::kGopcB, ConsoleScenario::kStartB, 0)));
        if (i) must(w.append(Event::exit(t++, 1, goid)));
      }
      for (int i = 0; i < 6; ++i, ++goid) {  // site A: 6 created, leaks_a left parked
        must(w.append(Event::create(t++, 1, 1, goid, ConsoleScenario::kGopcA, ConsoleScenario::kStartA, 0)));
        if (i < leaks_a)
          must(w.append(Event::park(t++, 2, goid, kChanSend, 0, s)));
        else
          must(w.append(Event::exit(t++, 2, goid)));
      }
    });
  };
  std::string fixed = write("fixed.gtr", 0), leaky = write("leaky.gtr", 3);
  auto r = run({gorepro_binary(), "diff", fixed, leaky, "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["sites"].size(), 3u) << "A, B and main (g1, seen only acting: no site)\n" << r.out;
  EXPECT_EQ(j["sites"][0]["creation_site"]["function"], fmt::format("{:#x}", ConsoleScenario::kGopcA));
  EXPECT_EQ(j["sites"][0]["change"]["alive"], 3);
  EXPECT_EQ(j["sites"][0]["before"]["created"], 6);
  EXPECT_EQ(j["sites"][0]["after"]["created"], 6);
  for (size_t i = 1; i < j["sites"].size(); ++i) EXPECT_EQ(j["sites"][i]["change"]["alive"], 0) << r.out;

  r = run({gorepro_binary(), "diff", fixed, leaky});
  EXPECT_NE(r.out.find(fmt::format("1 site grew:\n  +3 alive  {:#x}", ConsoleScenario::kGopcA)), std::string::npos)
      << r.out;
  EXPECT_EQ(run({gorepro_binary(), "diff", fixed, leaky, "--fail-on-growth", "3"}).exit_code, 0);
  r = run({gorepro_binary(), "diff", fixed, leaky, "--fail-on-growth", "2"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("FAILED — 1 site grew by more than 2"), std::string::npos) << r.err;
  EXPECT_EQ(run({gorepro_binary(), "diff", leaky, fixed, "--fail-on-growth", "0"}).exit_code, 0) << "it shrank";
  EXPECT_EQ(run({gorepro_binary(), "diff", leaky, "/nonexistent.gtr"}).exit_code, 2);
}

}  // namespace
}  // namespace gorepro::replay
