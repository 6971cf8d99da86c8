// A busy Go HTTP server (tests/go/busyserver) under a checking load survives gorepro: killed with
// SIGKILL (it, or its process group) at random moments while attached, its recording process
// killed, and attached to and detached from over and over. The server must keep serving, every
// answer the load gets must be the one the Go code computes, a fixed run of requests afterwards
// must get the same answers as one before gorepro ever attached, and the server's code must end
// byte for byte as it began.
// A launched program, in contrast, dies with gorepro (PTRACE_O_EXITKILL).
// 100 kills and 50 cycles on the newest toolchain, 20 and 10 on each other one (count_here);
// GOREPRO_KILL_ROUNDS and GOREPRO_ENDURANCE_CYCLES set them; bench/ runs 1000 cycles.
#include <gtest/gtest.h>

#include <dirent.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "support/background.h"
#include "support/go_programs.h"
#include "support/run.h"
#include "support/scratch.h"
#include "support/target_text.h"
#include "tracer/tracee.h"  // tracer_of

namespace gorepro {
namespace {

using namespace std::chrono_literals;
using testing::Background;
using testing::go_program;
using testing::run;
using testing::start_gorepro;
using testing::text_bytes;
using testing::wait_status;

std::string temp_path(const std::string& name) { return testing::scratch_file("guardian", name); }

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

// The toolchain of the server under test: the newest one the tests run on (scripts/test.sh runs
// this suite once per toolchain, GOREPRO_TEST_GO naming it).
std::string server_go() { return testing::built_go_versions().back(); }

// How many kills or cycles to run: `name` from the environment, else `full` on the newest
// toolchain found and a fifth of it on the others. What differs between toolchains (the runtime
// functions probed, the Go runtime's SIGTRAP handler whose frames a rescue undoes) shows in a
// few rounds; the count that measures a rate is run once, not six times (each kill costs ~1 s).
int count_here(const char* name, int full) {
  return env_int(name, server_go() == testing::found_go_versions().back() ? full : full / 5);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Alive and not a zombie (a program that died stays a zombie until its parent, the test, reaps it).
bool running(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string stat;
  std::getline(in, stat);
  auto paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
}

std::set<pid_t> children_of(pid_t parent) {
  std::set<pid_t> out;
  DIR* d = opendir("/proc");
  while (dirent* e = d ? readdir(d) : nullptr) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::ifstream in(fmt::format("/proc/{}/stat", e->d_name));
    std::string stat;
    std::getline(in, stat);
    auto paren = stat.rfind(')');
    int ppid = 0;
    char state = 0;
    if (paren != std::string::npos && std::sscanf(stat.c_str() + paren + 1, " %c %d", &state, &ppid) == 2 &&
        ppid == parent) {
      out.insert(std::atoi(e->d_name));
    }
  }
  if (d) closedir(d);
  return out;
}

// Reaps every child but `keep` — the recording processes a killed gorepro left, which this
// process (a subreaper) inherits — and says whether all of them were gone within `limit`.
bool others_gone(const std::set<pid_t>& keep, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (true) {
    bool left = false;
    for (pid_t c : children_of(getpid())) {
      if (keep.count(c)) continue;
      if (waitpid(c, nullptr, WNOHANG) != c) left = true;
    }
    if (!left) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
}

struct LoadResult {
  long requests = -1, errors = -1, mismatches = -1;
  std::string digest;
  int exit_code = -1;
  std::string line;
};

LoadResult parse_load(const std::string& out, int exit_code) {
  LoadResult r;
  r.exit_code = exit_code;
  auto at = out.rfind("requests ");
  if (at == std::string::npos) return r;
  r.line = out.substr(at);
  char digest[64] = {};
  if (std::sscanf(r.line.c_str(), "requests %ld errors %ld mismatches %ld digest %63s", &r.requests, &r.errors,
                  &r.mismatches, digest) == 4) {
    r.digest = digest;
  }
  return r;
}

// The busy server and, while asked for, the load client checking its every answer.
class BusyServer {
 public:
  explicit BusyServer(std::string bin) : bin_(std::move(bin)), server_({bin_}) {
    std::sscanf(server_.read_line().c_str(), "pid %d", &pid_);
    char addr[64] = {};
    std::sscanf(server_.read_line().c_str(), "listening %63s", addr);
    addr_ = addr;
  }
  pid_t pid() const { return pid_; }
  bool ready() const { return pid_ == server_.pid() && !addr_.empty(); }
  const std::string& binary() const { return bin_; }

  void start_load(int rate) {
    load_ = std::make_unique<Background>(
        std::vector<std::string>{bin_, "-load", addr_, "-workers", "4", "-rate", std::to_string(rate)}, true);
  }
  pid_t load_pid() const { return load_ ? load_->pid() : 0; }
  LoadResult stop_load() {
    load_->close_stdin();
    std::string out;
    const int code = load_->wait(&out);
    load_.reset();
    return parse_load(out, code);
  }
  // A fixed sequence of requests: its digest is the same in every run that got every answer right.
  LoadResult fixed_run(int per_worker) const {
    auto r = run({bin_, "-load", addr_, "-workers", "4", "-requests", std::to_string(per_worker)});
    return parse_load(r.out, r.exit_code);
  }

 private:
  std::string bin_;
  Background server_;
  pid_t pid_ = 0;
  std::string addr_;
  std::unique_ptr<Background> load_;
};

class Guardian : public ::testing::Test {
 protected:
  // A killed gorepro's recording process is re-parented to the nearest subreaper: this test, so
  // it can tell that process exits and reap it.
  static void SetUpTestSuite() { prctl(PR_SET_CHILD_SUBREAPER, 1); }

  static std::string server_binary() { return go_program("busyserver", server_go(), false); }

  // gorepro recording the server for a minute (stderr in err_path), once its probes are in the
  // server's code (which was `before`): gorepro's pid and its recording process's (the server's
  // tracer; 0 if it never armed).
  static std::pair<pid_t, pid_t> start_armed(const BusyServer& server, const std::string& before,
                                             const std::string& err_path) {
    pid_t g = start_gorepro({"record", "-q", "--pid", std::to_string(server.pid()), "--duration", "60s", "-o",
                             err_path + ".gtr"},
                            err_path);
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (text_bytes(server.pid(), server.binary()) == before) {
      if (std::chrono::steady_clock::now() > deadline) return {g, 0};
      std::this_thread::sleep_for(20ms);
    }
    return {g, tracer::tracer_of(server.pid())};
  }

  // Stops the load: it got every answer right and no error; the server's code is as `before`,
  // and a fixed run gets the same answers as `untraced` (the same run before gorepro came).
  static void expect_served_as_untraced(BusyServer& server, const std::string& before, const LoadResult& untraced) {
    const LoadResult load = server.stop_load();
    EXPECT_GT(load.requests, 0) << load.line;
    EXPECT_EQ(load.errors, 0) << load.line;
    EXPECT_EQ(load.mismatches, 0) << load.line;
    EXPECT_TRUE(text_bytes(server.pid(), server.binary()) == before) << "the server's code changed";
    const LoadResult after = server.fixed_run(50);
    EXPECT_EQ(after.digest, untraced.digest) << after.line << " vs untraced " << untraced.line;
  }
};

TEST_F(Guardian, GoreproKilledAtRandomMomentsTheServerServesOnUnchanged) {
  const int rounds = count_here("GOREPRO_KILL_ROUNDS", 100);
  const unsigned seed = static_cast<unsigned>(env_int("GOREPRO_KILL_SEED", static_cast<int>(time(nullptr))));
  std::printf("seed %u (GOREPRO_KILL_SEED=%u reruns these moments)\n", seed, seed);
  std::mt19937 random(seed);
  // 1.2 s of recording after gorepro took ~0.3 s to start and attach: moments up to 1.8 s fall
  // before the attach, while it attaches and arms, while it records, while it detaches, and after.
  std::uniform_int_distribution<int> moment_ms(0, 1800);

  BusyServer server(server_binary());
  ASSERT_TRUE(server.ready());
  const LoadResult untraced = server.fixed_run(50);
  ASSERT_EQ(untraced.errors, 0) << untraced.line;
  ASSERT_EQ(untraced.mismatches, 0) << untraced.line;
  const std::string before = text_bytes(server.pid(), server.binary());
  server.start_load(200);
  std::this_thread::sleep_for(200ms);

  int attached_kills = 0, finished = 0;
  for (int i = 0; i < rounds; i++) {
    SCOPED_TRACE(fmt::format("round {} of {}", i + 1, rounds));
    // Odd rounds kill gorepro's whole process group, as `timeout -s KILL` and job control do.
    const bool group = i % 2 == 1;
    pid_t g = start_gorepro({"record", "-q", "--pid", std::to_string(server.pid()), "--duration", "1200ms", "-o",
                             temp_path(fmt::format("kill-{}.gtr", i % 4))},
                            "", true);
    std::this_thread::sleep_for(std::chrono::milliseconds(moment_ms(random)));
    if (tracer::tracer_of(server.pid()) != 0) attached_kills++;
    kill(group ? -g : g, SIGKILL);
    const int status = wait_status(g);
    EXPECT_TRUE(status == 128 + SIGKILL || status == 0) << status;  // 0: it had finished
    if (status == 0) finished++;
    ASSERT_TRUE(others_gone({server.pid(), server.load_pid()}, 10s)) << "the recording process outlived gorepro";
    ASSERT_TRUE(running(server.pid())) << "the server died";
    ASSERT_EQ(tracer::tracer_of(server.pid()), 0) << "the server is still traced";
  }
  std::printf("%d of %d kills landed while gorepro was attached, %d after it finished\n", attached_kills, rounds,
              finished);
  EXPECT_GE(attached_kills, rounds / 3) << "too few kills landed during a recording to test anything";

  expect_served_as_untraced(server, before, untraced);
}

TEST_F(Guardian, RecordingProcessKilledTheCodeIsPutBack) {
  BusyServer server(server_binary());
  ASSERT_TRUE(server.ready());
  const LoadResult untraced = server.fixed_run(25);
  const std::string before = text_bytes(server.pid(), server.binary());
  const std::string err = temp_path("recorder-killed.err");
  const auto [g, recorder] = start_armed(server, before, err);
  ASSERT_GT(recorder, 0) << "gorepro never placed its probes";
  ASSERT_NE(recorder, g) << "gorepro itself traces: nothing would survive its death";
  kill(recorder, SIGKILL);
  EXPECT_EQ(wait_status(g), 1);
  const std::string said = slurp(err);
  EXPECT_NE(said.find(fmt::format("recording process (pid {}) was killed by signal 9", recorder)), std::string::npos)
      << said;
  EXPECT_NE(said.find("bytes of its code back"), std::string::npos) << said;
  EXPECT_NE(said.find("runs on"), std::string::npos) << said;
  EXPECT_EQ(tracer::tracer_of(server.pid()), 0);
  EXPECT_TRUE(text_bytes(server.pid(), server.binary()) == before) << "the server's code was not put back";
  // Any int3 left would end the server at its first request.
  const LoadResult after = server.fixed_run(25);
  EXPECT_EQ(after.errors, 0) << after.line;
  EXPECT_EQ(after.digest, untraced.digest) << after.line << " vs untraced " << untraced.line;
  EXPECT_TRUE(running(server.pid()));
}

TEST_F(Guardian, RecordingProcessStoppedThenKilledUnderLoadItsCaughtThreadsArePutBack) {
  // Stopped, the recorder collects no probe hit: every server thread that hits one waits in an
  // int3 stop the recorder never collected (and one it had just collected may wait one byte into
  // the instruction). Killed then, it leaves each of them to take a SIGTRAP into the Go runtime's
  // handler, which ends the program — unless the guardian stops them first and undoes the signal
  // frames the kernel built (and puts the other back at its instruction).
  BusyServer server(server_binary());
  ASSERT_TRUE(server.ready());
  const LoadResult untraced = server.fixed_run(50);
  const std::string before = text_bytes(server.pid(), server.binary());
  server.start_load(200);
  const std::string err = temp_path("recorder-stopped.err");
  const auto [g, recorder] = start_armed(server, before, err);
  ASSERT_GT(recorder, 0) << "gorepro never placed its probes";
  std::this_thread::sleep_for(300ms);
  kill(recorder, SIGSTOP);
  std::this_thread::sleep_for(300ms);  // the load keeps the server's threads running into probes
  kill(recorder, SIGKILL);
  EXPECT_EQ(wait_status(g), 1);
  const std::string said = slurp(err);
  EXPECT_NE(said.find("stopped the program for a moment"), std::string::npos) << said;
  EXPECT_EQ(said.find("put back 0 threads"), std::string::npos) << said;
  EXPECT_NE(said.find("runs on"), std::string::npos) << said;
  ASSERT_TRUE(running(server.pid()));
  EXPECT_EQ(tracer::tracer_of(server.pid()), 0);
  expect_served_as_untraced(server, before, untraced);
}

TEST_F(Guardian, AttachRecordDetachCyclesLeaveTheServerAsItWas) {
  const int cycles = count_here("GOREPRO_ENDURANCE_CYCLES", 50);
  BusyServer server(server_binary());
  ASSERT_TRUE(server.ready());
  const LoadResult untraced = server.fixed_run(50);
  const std::string before = text_bytes(server.pid(), server.binary());
  server.start_load(200);
  const std::string err = temp_path("cycle.err");
  for (int i = 0; i < cycles; i++) {
    SCOPED_TRACE(fmt::format("cycle {} of {}", i + 1, cycles));
    const std::string trace = temp_path(fmt::format("cycle-{}.gtr", i % 2));
    pid_t g = start_gorepro({"record", "-q", "--pid", std::to_string(server.pid()), "--duration", "200ms", "-o", trace},
                            err);
    ASSERT_EQ(wait_status(g), 0) << slurp(err);
    const std::string said = slurp(err);
    EXPECT_NE(said.find(" events"), std::string::npos) << said;
    EXPECT_EQ(said.find("recording process"), std::string::npos) << said;  // the guardian had nothing to do
    ASSERT_TRUE(others_gone({server.pid(), server.load_pid()}, 5s)) << "a recording process outlived gorepro";
    ASSERT_TRUE(running(server.pid()));
    if (i == 0 || i + 1 == cycles) {
      auto rep = run({testing::gorepro_binary(), "report", trace});
      EXPECT_EQ(rep.exit_code, 0) << rep.err;
    }
  }
  expect_served_as_untraced(server, before, untraced);
}

TEST_F(Guardian, LaunchedProgramDiesWithGorepro) {
  const std::string bin = go_program("attachtarget", server_go(), false);
  pid_t g = start_gorepro({"record", "-q", "-o", temp_path("launched.gtr"), "--", bin, "-work", "30s"});
  pid_t program = 0;
  for (int i = 0; i < 500 && !program; i++) {
    std::this_thread::sleep_for(10ms);
    auto kids = children_of(g);
    if (!kids.empty()) program = *kids.begin();
  }
  ASSERT_GT(program, 0);
  std::this_thread::sleep_for(300ms);
  kill(g, SIGKILL);
  EXPECT_EQ(wait_status(g), 128 + SIGKILL);
  // Re-parented to this subreaper, killed by the kernel as its tracer died.
  int status = 0;
  ASSERT_EQ(waitpid(program, &status, 0), program);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
}

}  // namespace
}  // namespace gorepro
