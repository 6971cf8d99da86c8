// MiClient against the real gdb on PATH: tokens and pipelining, errors, console text, async
// records routed apart while a Go program (tests/go/attachtarget) runs with its own terminal, and
// each way gdb can fail — not installed, refusing the MI version asked for, hung (SIGSTOP), dead
// (SIGKILL) — giving one clear error.
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "gdbmi/mi_client.h"
#include "support/go_programs.h"

namespace gorepro::gdbmi {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<MiClient> start_gdb() {
  auto c = MiClient::start();
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message());
  return c.ok() ? std::move(*c) : nullptr;
}

TEST(GdbVersion, ReadsTheReleaseFromTheBanner) {
  EXPECT_EQ(parse_gdb_version("GNU gdb (Debian 13.1-3) 13.1"), std::make_pair(13, 1));
  EXPECT_EQ(parse_gdb_version("GNU gdb (Ubuntu 12.1-0ubuntu1~22.04) 12.1\nCopyright"), std::make_pair(12, 1));
  EXPECT_EQ(parse_gdb_version("GNU gdb (GDB) 8.3.1"), std::make_pair(8, 3));
  EXPECT_EQ(parse_gdb_version("GNU gdb (GDB) Red Hat Enterprise Linux 8.2-19.el8"), std::make_pair(8, 2));
  EXPECT_EQ(parse_gdb_version("GNU gdb (GDB) 15.0.50.20240403-git"), std::make_pair(15, 0));
  EXPECT_EQ(parse_gdb_version("no version here"), std::nullopt);
}

TEST(MiClient, StartsAndAnswersPipelinedCommandsByToken) {
  auto gdb = start_gdb();
  ASSERT_TRUE(gdb);
  auto v = parse_gdb_version("gdb " + gdb->version());
  ASSERT_TRUE(v.has_value());
  EXPECT_GE(v->first, kMinGdbMajor);
  // Three commands in flight at once, collected in another order than sent.
  auto a = gdb->send("-data-evaluate-expression 1+1");
  auto b = gdb->send("-data-evaluate-expression 6*7");
  auto c = gdb->send("-gdb-show pagination");  // start() turned it off
  ASSERT_TRUE(a && b && c);
  auto deadline = Clock::now() + 10s;
  auto rc = gdb->wait(*c, deadline);
  auto rb = gdb->wait(*b, deadline);
  auto ra = gdb->wait(*a, deadline);
  ASSERT_TRUE(ra && rb && rc);
  EXPECT_EQ(ra->result.payload.str("value"), "2");
  EXPECT_EQ(rb->result.payload.str("value"), "42");
  EXPECT_EQ(rc->result.payload.str("value"), "off");
  EXPECT_EQ(gdb->protocol_errors(), 0u);
}

TEST(MiClient, ErrorRecordIsAnErrorAndGdbCarriesOn) {
  auto gdb = start_gdb();
  ASSERT_TRUE(gdb);
  auto r = gdb->command("-data-evaluate-expression nosuchvariable");
  ASSERT_FALSE(r.ok());
  // No program loaded: gdb's message for any symbol.
  EXPECT_NE(r.error().what.find("No symbol table is loaded."), std::string::npos) << r.error().what;
  EXPECT_NE(r.error().what.find("-data-evaluate-expression nosuchvariable"), std::string::npos) << r.error().what;
  EXPECT_TRUE(gdb->alive());
  auto next = gdb->command("-data-evaluate-expression 3");
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->result.payload.str("value"), "3");
}

TEST(MiClient, ConsoleTextBelongsToItsCommand) {
  auto gdb = start_gdb();
  ASSERT_TRUE(gdb);
  auto r = gdb->command(R"(-interpreter-exec console "echo caf\303\251 \"x\"\\n")");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->console, "caf\xc3\xa9 \"x\"\n");
  EXPECT_FALSE(gdb->has_async());
}

TEST(MiClient, MissingGdbIsOneClearError) {
  MiClientOptions o;
  o.gdb = "gorepro-no-such-gdb";
  auto c = MiClient::start(o);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().what, "gorepro-no-such-gdb not found on PATH");
  EXPECT_NE(c.error().hint.find("install gdb"), std::string::npos);
  o.gdb = "/nonexistent/gdb";
  c = MiClient::start(o);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().what.find("cannot run /nonexistent/gdb"), std::string::npos) << c.error().what;
}

// A gdb older than 9 refuses --interpreter=mi3 exactly as gdb 13 refuses an MI version it does
// not know: "Interpreter `mi9' unrecognized" on stderr, exit status 1.
TEST(MiClient, GdbRefusingTheMiVersionIsOneClearError) {
  MiClientOptions o;
  o.interpreter = "mi9";
  auto c = MiClient::start(o);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().what.find("does not speak GDB/MI 9"), std::string::npos) << c.error().what;
  EXPECT_NE(c.error().what.find("mi9"), std::string::npos) << c.error().what;  // gdb's own words
  EXPECT_NE(c.error().hint.find("gdb 9 or newer"), std::string::npos);
}

TEST(MiClient, HungGdbTimesOutAndALateAnswerIsDropped) {
  auto gdb = start_gdb();
  ASSERT_TRUE(gdb);
  ASSERT_EQ(::kill(gdb->gdb_pid(), SIGSTOP), 0);
  auto t0 = Clock::now();
  auto r = gdb->command("-data-evaluate-expression 5", 300ms);
  auto waited = Clock::now() - t0;
  ::kill(gdb->gdb_pid(), SIGCONT);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().what.find("did not answer `-data-evaluate-expression 5` within"), std::string::npos)
      << r.error().what;
  EXPECT_NE(r.error().hint.find("hung"), std::string::npos);
  EXPECT_GE(waited, 300ms);
  EXPECT_LT(waited, 5s);
  // Woken up, gdb answers the abandoned command, then the next: only the next is returned.
  auto next = gdb->command("-data-evaluate-expression 6");
  ASSERT_TRUE(next.ok()) << next.error().message();
  EXPECT_EQ(next->result.payload.str("value"), "6");
  EXPECT_EQ(gdb->protocol_errors(), 0u) << gdb->last_protocol_error();
}

TEST(MiClient, DeadGdbFailsEveryPendingCommand) {
  auto gdb = start_gdb();
  ASSERT_TRUE(gdb);
  const pid_t pid = gdb->gdb_pid();
  ASSERT_EQ(::kill(pid, SIGSTOP), 0);  // so neither command is answered before the kill
  auto a = gdb->send("-data-evaluate-expression 1");
  auto b = gdb->send("-data-evaluate-expression 2");
  ASSERT_TRUE(a && b);
  gdb->poll();  // the commands reach the socket
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  auto ra = gdb->wait(*a, Clock::now() + 10s);
  auto rb = gdb->wait(*b, Clock::now() + 10s);
  ASSERT_FALSE(ra.ok());
  ASSERT_FALSE(rb.ok());
  EXPECT_NE(ra.error().what.find("was killed by signal 9"), std::string::npos) << ra.error().what;
  EXPECT_NE(rb.error().what.find("-data-evaluate-expression 2"), std::string::npos) << rb.error().what;
  EXPECT_FALSE(gdb->alive());
  // Later commands fail at once, with the same cause, and never raise SIGPIPE.
  auto t0 = Clock::now();
  auto later = gdb->command("-gdb-version");
  ASSERT_FALSE(later.ok());
  EXPECT_NE(later.error().what.find("was killed by signal 9"), std::string::npos);
  EXPECT_LT(Clock::now() - t0, 1s);
}

TEST(MiClient, WakeEndsAWaitForAsyncRecordsFromAnotherThread) {
  auto gdb = start_gdb();
  ASSERT_TRUE(gdb);
  auto t0 = Clock::now();
  std::thread waker([&] {
    std::this_thread::sleep_for(100ms);
    gdb->wake();
  });
  auto r = gdb->next_async(Clock::now() + 20s);
  waker.join();
  EXPECT_FALSE(r.has_value());
  EXPECT_LT(Clock::now() - t0, 5s);
  EXPECT_TRUE(gdb->alive());
}

// A pseudo-terminal for the program: its output must arrive there, never on the MI channel.
struct Pty {
  int master = -1;
  std::string slave;
  Pty() {
    master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0) slave = ptsname(master);
    fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
  }
  ~Pty() {
    if (master >= 0) close(master);
  }
  std::string drain() {
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = read(master, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
    return out;
  }
};

TEST(MiClient, AsyncRecordsRoutedApartWhileTheProgramRunsOnItsOwnTerminal) {
  const std::string version = testing::built_go_versions().back();
  const std::string program = testing::go_program("attachtarget", version, false);
  auto gdb = start_gdb();
  ASSERT_TRUE(gdb);
  Pty pty;
  ASSERT_FALSE(pty.slave.empty());
  ASSERT_TRUE(gdb->command("-gdb-set mi-async on"));
  ASSERT_TRUE(gdb->command("-gdb-set auto-load off"));
  ASSERT_TRUE(gdb->command("-file-exec-and-symbols " + mi_quote(program)));
  ASSERT_TRUE(gdb->command("-exec-arguments -work 10ms"));
  ASSERT_TRUE(gdb->command("-inferior-tty-set " + mi_quote(pty.slave)));
  for (const char* sig : {"SIGURG", "SIGPIPE"}) {
    ASSERT_TRUE(gdb->command(fmt::format("-interpreter-exec console \"handle {} nostop noprint pass\"", sig)));
  }
  auto bp = gdb->command("-break-insert main.main");
  ASSERT_TRUE(bp.ok()) << bp.error().message();
  const auto bkptno = bp->result.payload.get("bkpt")->str("number");
  ASSERT_TRUE(bkptno.has_value());

  auto run = gdb->command("-exec-run");
  ASSERT_TRUE(run.ok()) << run.error().message();
  EXPECT_EQ(run->result.klass, "running");
  // Until the breakpoint: thread and running notifications, then *stopped — all async.
  std::optional<MiRecord> stopped;
  bool thread_created = false, running = false;
  while (!stopped) {
    auto r = gdb->next_async(Clock::now() + 30s);
    ASSERT_TRUE(r.has_value()) << (gdb->failure() ? gdb->failure()->message() : "no *stopped within 30 s");
    thread_created |= r->kind == MiRecordKind::kNotify && r->klass == "thread-created";
    running |= r->kind == MiRecordKind::kExec && r->klass == "running";
    if (r->kind == MiRecordKind::kExec && r->klass == "stopped") stopped = std::move(r);
  }
  EXPECT_TRUE(thread_created);
  EXPECT_TRUE(running);
  EXPECT_EQ(stopped->payload.str("reason"), "breakpoint-hit");
  EXPECT_EQ(stopped->payload.str("bkptno"), *bkptno);
  EXPECT_EQ(stopped->payload.get("frame")->str("func"), "main.main");
  // A command's answer while stopped, then run to the end.
  auto threads = gdb->command("-thread-info");
  ASSERT_TRUE(threads.ok());
  EXPECT_FALSE(threads->result.payload.get("threads")->elements().empty());
  ASSERT_TRUE(gdb->command("-break-delete " + std::string(*bkptno)));
  ASSERT_TRUE(gdb->command("-exec-continue"));
  std::optional<MiRecord> exited;
  while (!exited) {
    auto r = gdb->next_async(Clock::now() + 30s);
    ASSERT_TRUE(r.has_value()) << "no exit within 30 s";
    if (r->kind == MiRecordKind::kExec && r->klass == "stopped") exited = std::move(r);
  }
  EXPECT_EQ(exited->payload.str("reason"), "exited-normally");
  // The program's lines reached its terminal; not one line on the MI channel was anything but MI.
  std::string out = pty.drain();
  EXPECT_NE(out.find("ready"), std::string::npos) << out;
  EXPECT_NE(out.find("result 0x"), std::string::npos) << out;
  EXPECT_EQ(gdb->protocol_errors(), 0u) << gdb->last_protocol_error();
}

}  // namespace
}  // namespace gorepro::gdbmi
