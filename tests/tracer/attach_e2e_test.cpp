// gorepro record --pid: attach to a running Go program that already leaked, record, detach —
// the leak shows at its true creation site, and the program runs on exactly as untraced.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/marks.h"
#include "support/backends.h"
#include "support/background.h"
#include "support/go_programs.h"
#include "support/report_checks.h"
#include "support/run.h"
#include "support/scratch.h"
#include "support/target_text.h"

namespace gorepro {
namespace {

namespace fs = std::filesystem;
using testing::Background;
using testing::go_program;
using testing::run;
using testing::text_bytes;

std::string without_pid_line(const std::string& out) {
  std::string r;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("pid ", 0) != 0) r += line + "\n";
  }
  return r;
}

std::string temp_path(const std::string& name) { return testing::scratch_file("attach", name); }

TEST(Attach, ReportsPreexistingLeakAtItsCreationSiteAndLeavesTargetUnaffected) {
  auto marks = testing::read_leak_marks(testing::go_source_dir("tests/go/attachtarget"));
  ASSERT_EQ(marks.size(), 1u);
  for (const auto& v : testing::built_go_versions()) {
    for (bool stripped : {false, true}) {
      for (const auto& backend : testing::mechanics_backends(v)) {
        // A stripped binary changes where the layout comes from, the same for every backend.
        if (stripped && backend != "ptrace") continue;
        SCOPED_TRACE(v + (stripped ? " stripped " : " ") + backend);
        std::string bin = go_program("attachtarget", v, stripped);
        // Working on well past the recording, whose end the code is read after: ebpf's detach
        // removes its uprobes one RCU grace period at a time (~0.1 s each, more under load).
        const std::string work = backend == "ebpf" ? "6s" : "2s";
        auto untraced = run({bin, "-work", work});
        ASSERT_EQ(untraced.exit_code, 0);

        Background target({bin, "-work", work});
        ASSERT_EQ(target.read_line().rfind("pid ", 0), 0u);
        ASSERT_EQ(target.read_line(), "ready\n");
        std::string before = text_bytes(target.pid(), bin);
        std::string trace = temp_path(fmt::format("attach-{}-{}-{}.gtr", v, stripped, backend));
        auto rec = run({testing::gorepro_binary(), "record", "-q", "--backend", backend, "--pid",
                        std::to_string(target.pid()), "--duration", "700ms", "-o", trace});
        ASSERT_EQ(rec.exit_code, 0) << rec.err;
        EXPECT_EQ(text_bytes(target.pid(), bin), before) << "code differs after detach";
        std::string out;
        EXPECT_EQ(target.wait(&out), 0);
        EXPECT_EQ(without_pid_line(out), without_pid_line(untraced.out));

        auto rep = run({testing::gorepro_binary(), "report", "--format", "json", trace});
        ASSERT_EQ(rep.exit_code, 0) << rep.err;
        testing::expect_preexisting_leak(rep.out, marks[0]);
      }
    }
  }
}

TEST(Attach, SecondTracerIsToldWhoAlreadyTraces) {
  std::string bin = go_program("attachtarget", testing::built_go_versions().back(), false);
  Background target({bin, "-work", "3s"});
  target.read_line();
  target.read_line();
  std::string pid = std::to_string(target.pid());
  std::string first_trace = temp_path("first.gtr");
  std::thread first([&] {
    auto r = run({testing::gorepro_binary(), "record", "-q", "--pid", pid, "--duration", "1500ms", "-o", first_trace});
    EXPECT_EQ(r.exit_code, 0) << r.err;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto second = run({testing::gorepro_binary(), "record", "-q", "--pid", pid, "--duration", "1s", "-o", temp_path("second.gtr")});
  first.join();
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("already traced by pid"), std::string::npos) << second.err;
  EXPECT_NE(second.err.find("gorepro"), std::string::npos) << second.err;
  std::string out;
  EXPECT_EQ(target.wait(&out), 0);
}

TEST(Attach, NonGoProcessIsRefusedWithoutTouchingIt) {
  Background sleeper({"/bin/sleep", "3"});
  auto r = run({testing::gorepro_binary(), "record", "--pid", std::to_string(sleeper.pid()), "-o", temp_path("x.gtr")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not a Go binary"), std::string::npos) << r.err;
  EXPECT_EQ(kill(sleeper.pid(), 0), 0);  // still running
}

using testing::start_gorepro;
using testing::wait_status;

TEST(Attach, SigtermSigintAndSighupDetachAndTheTargetFinishesNormally) {
  std::string v = testing::built_go_versions().back();
  std::string bin = go_program("attachtarget", v, false);
  for (const auto& backend : testing::mechanics_backends(v)) {
    // Long enough for ebpf's detach, which removes uprobes one RCU grace period at a time.
    const std::string work = backend == "ebpf" ? "6s" : "1500ms";
    auto untraced = run({bin, "-work", work});
    for (int sig : {SIGTERM, SIGINT, SIGHUP}) {
      SCOPED_TRACE(fmt::format("{} {}", strsignal(sig), backend));
      Background target({bin, "-work", work});
      target.read_line();
      target.read_line();
      std::string before = text_bytes(target.pid(), bin);
      std::string trace = temp_path(fmt::format("sig{}{}.gtr", sig, backend));
      pid_t g = start_gorepro({"record", "-q", "--backend", backend, "--pid", std::to_string(target.pid()), "-o", trace});
      std::this_thread::sleep_for(std::chrono::milliseconds(400));
      kill(g, sig);
      EXPECT_EQ(wait_status(g), 0);
      EXPECT_EQ(text_bytes(target.pid(), bin), before);
      std::string out;
      EXPECT_EQ(target.wait(&out), 0);
      EXPECT_EQ(without_pid_line(out), without_pid_line(untraced.out));
      EXPECT_EQ(run({testing::gorepro_binary(), "report", trace}).exit_code, 0);
    }
  }
}

TEST(Record, SignalSentToGoreproReachesTheLaunchedProgram) {
  // The target's default SIGTERM action kills it; gorepro passes the signal on and reports the
  // program's fate as its own exit status (128 + SIGTERM), and the trace is complete.
  std::string bin = go_program("attachtarget", testing::built_go_versions().back(), false);
  std::string trace = temp_path("launch-term.gtr");
  pid_t g = start_gorepro({"record", "-q", "-o", trace, "--", bin, "-work", "5s"});
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  kill(g, SIGTERM);
  EXPECT_EQ(wait_status(g), 128 + SIGTERM);
  auto rep = run({testing::gorepro_binary(), "report", trace});
  EXPECT_EQ(rep.exit_code, 0) << rep.err;
  EXPECT_EQ(rep.err.find("warning"), std::string::npos) << rep.err;  // closed cleanly, not truncated
}

}  // namespace
}  // namespace gorepro
