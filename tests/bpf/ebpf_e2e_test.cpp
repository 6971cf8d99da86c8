// The ebpf backend against the ptrace backend and against what production asks of it:
// - the same goroutines, in the same final states and wait reasons, with the same creation and
//   block stacks, as ptrace on every example for every Go version (the cross-check);
// - a server it is attached to survives gorepro being SIGKILLed at random moments, its output
//   unchanged (uprobes leave with their owner; ptrace's int3 bytes stay);
// - a ring buffer too small for the load loses events, and the trace says how many and whose;
// - without the privileges it needs, one line says which to grant.
// Every test skips with the reason when this machine cannot run eBPF (support/backends.h).
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <regex>
#include <thread>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/marks.h"
#include "dwarf/go_binary.h"
#include "replay/goroutine_table.h"
#include "replay/trace_reader.h"
#include "support/backends.h"
#include "support/background.h"
#include "support/go_programs.h"
#include "support/run.h"
#include "support/scratch.h"
#include "support/trace_checks.h"

namespace gorepro {
namespace {

namespace fs = std::filesystem;
using testing::go_program;
using testing::run;

#define SKIP_WITHOUT_EBPF()                                                       \
  do {                                                                            \
    if (std::string why = testing::ebpf_unavailable(); !why.empty()) GTEST_SKIP() << why; \
  } while (0)

// The backend's mechanics that no Go version changes (SIGKILL survival, losses, privileges,
// several recordings, --all) are tested with the newest toolchain only (support/go_programs.h).
#define SKIP_WITHOUT_EBPF_OR_NOT_NEWEST_GO()                                                     \
  do {                                                                                         \
    SKIP_WITHOUT_EBPF();                                                                       \
    if (testing::built_go_versions().back() != testing::newest_go_version())                   \
      GTEST_SKIP() << "version-independent: tested with Go " << testing::newest_go_version(); \
  } while (0)

std::string temp_path(const std::string& name) { return testing::scratch_file("ebpf", name); }

// What became of one goroutine: the `go` statement (file:line), its start function, its state
// when the trace ends and, when waiting, why.
struct Fate {
  std::string site, start, state, reason;
  auto operator<=>(const Fate&) const = default;
};

struct Observed {
  std::map<Fate, int> fates;
  std::map<std::string, int> created_per_site;
  // (fate, creation stack, block stack) with link-time PCs: both backends recorded one binary.
  std::map<std::tuple<Fate, std::vector<uint64_t>, std::vector<uint64_t>>, int> stacks;
};

// The goroutines of a trace that the program's own code created. The runtime's own (GC
// workers, the sweeper, timers) depend on when a collection happens, not on the program; those a
// timer's callback starts (time.AfterFunc's goFunc: a context's deadline) on whether the timer
// fired before it was stopped (httpleak on go1.19: 11 in one run, 12 in the other).
Observed observe(const std::string& trace, const GoBinary& bin) {
  Observed o;
  auto reader = replay::TraceReader::open(trace);
  EXPECT_TRUE(reader) << reader.error().message();
  if (!reader) return o;
  EXPECT_EQ(testing::trace_violations(**reader), "") << trace;
  replay::GoroutineTable table(/*keep_dead=*/true);
  replay::Event e;
  for (auto cur = (*reader)->cursor(); cur.next(e);) table.apply(e);
  for (const auto& [goid, g] : table.goroutines()) {
    if (g.placeholder) continue;
    auto frames = bin.symbolizer().frames(g.gopc - 1);
    if (frames.empty() || frames[0].function.rfind("runtime.", 0) == 0 || frames[0].function == "time.goFunc")
      continue;
    Fate f{fmt::format("{}:{}", fs::path(frames[0].file).filename().string(), frames[0].line),
           bin.symbolizer().function_name(g.start_pc), std::string(replay::go_state_name(g.state)),
           g.state == replay::GoState::Waiting ? (*reader)->header().wait_reason_name(g.wait_reason) : ""};
    o.fates[f]++;
    o.created_per_site[f.site]++;
    auto stack = [&](replay::StackId id) {
      auto s = (*reader)->stack(id);
      return std::vector<uint64_t>(s.begin(), s.end());
    };
    o.stacks[{f, stack(g.creation_stack), g.state == replay::GoState::Waiting ? stack(g.block_stack)
                                                                              : std::vector<uint64_t>{}}]++;
  }
  return o;
}

std::string describe(const std::map<Fate, int>& fates) {
  std::string out;
  for (const auto& [f, n] : fates) out += fmt::format("  {} x {} {} {} {}\n", n, f.site, f.start, f.state, f.reason);
  return out;
}

TEST(EbpfCrossCheck, SameGoroutinesFatesAndStacksAsPtraceOnEveryExample) {
  SKIP_WITHOUT_EBPF();
  for (const auto& example : testing::example_names()) {
    for (const auto& v : testing::built_go_versions()) {
      SCOPED_TRACE(example + " go" + v);
      const std::string binary = go_program(example, v, false);
      auto bin = GoBinary::open(binary);
      ASSERT_TRUE(bin);
      std::map<std::string, Observed> seen;
      for (const char* backend : {"ptrace", "ebpf"}) {
        const std::string trace = temp_path(fmt::format("x-{}-{}-{}.gtr", example, v, backend));
        auto rec = run({testing::gorepro_binary(), "record", "-q", "--backend", backend, "-o", trace, "--", binary});
        ASSERT_EQ(rec.exit_code, 0) << backend << ": " << rec.err;
        EXPECT_EQ(rec.err.find("lost"), std::string::npos) << rec.err;
        seen[backend] = observe(trace, **bin);
      }
      ASSERT_FALSE(seen["ptrace"].fates.empty());
      EXPECT_EQ(seen["ebpf"].fates, seen["ptrace"].fates)
          << "ptrace:\n" << describe(seen["ptrace"].fates) << "ebpf:\n" << describe(seen["ebpf"].fates);
      EXPECT_EQ(seen["ebpf"].created_per_site, seen["ptrace"].created_per_site);
      EXPECT_TRUE(seen["ebpf"].stacks == seen["ptrace"].stacks) << "the same goroutines, but other stacks";
    }
  }
}

// A kvserver in the background: its pid, address and output.
class Server {
 public:
  explicit Server(const std::string& binary) {
    int p[2];
    EXPECT_EQ(pipe(p), 0);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(p[1], 1);
      dup2(p[1], 2);
      close(p[0]);
      close(p[1]);
      execl(binary.c_str(), binary.c_str(), nullptr);
      _exit(127);
    }
    close(p[1]);
    out_ = fdopen(p[0], "r");
    char line[256];
    while (fgets(line, sizeof line, out_)) {
      output_ += line;
      if (std::strncmp(line, "addr 127.0.0.1:", 15) == 0) port_ = std::atoi(line + 15);
      if (std::string(line) == "ready\n") break;
    }
  }
  ~Server() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_) fclose(out_);
  }
  pid_t pid() const { return pid_; }
  // Still running (not a zombie): waitpid says nothing happened to it.
  bool running() {
    if (reaped_) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      reaped_ = true;
      exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return false;
    }
    return true;
  }
  // One request over a new connection; the answer line, or "" when none came.
  std::string ask(const std::string& key) const {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port_));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string answer;
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
      std::string req = "GET " + key + "\n";
      if (write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
        char c;
        while (read(fd, &c, 1) == 1 && c != '\n') answer += c;
      }
    }
    close(fd);
    return answer;
  }
  // SIGTERM, then its exit status and everything it printed.
  int stop(std::string* output) {
    if (!reaped_) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
      reaped_ = true;
      exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, out_)) > 0) output_.append(buf, n);
    *output = output_;
    return exit_status_;
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  FILE* out_ = nullptr;
  std::string output_;
  bool reaped_ = false;
  int exit_status_ = -1;
};

std::string without_pid_and_addr(const std::string& out) {
  return std::regex_replace(out, std::regex(R"((pid|addr) \S+\n)"), "");
}

// bench/sigkill.sh runs this 100 times per backend; the suite runs it GOREPRO_SIGKILL_ROUNDS
// times (default 12), with the kill anywhere from BPF loading to steady recording.
TEST(EbpfSigkill, AServerKeepsServingWhenGoreproIsKilledAtRandomMoments) {
  SKIP_WITHOUT_EBPF_OR_NOT_NEWEST_GO();
  const int rounds = std::getenv("GOREPRO_SIGKILL_ROUNDS") ? std::atoi(std::getenv("GOREPRO_SIGKILL_ROUNDS")) : 12;
  const std::string binary = go_program("kvserver", testing::built_go_versions().back(), false);
  std::string untraced_out;
  {
    Server untraced(binary);
    ASSERT_EQ(untraced.ask("k").rfind("k=", 0), 0u);
    ASSERT_EQ(untraced.stop(&untraced_out), 0) << untraced_out;
  }
  Server server(binary);
  const std::string want = server.ask("probe-key");
  ASSERT_EQ(want.rfind("probe-key=", 0), 0u) << want;
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> delay_ms(0, 1500);
  for (int round = 0; round < rounds; round++) {
    const int delay = delay_ms(rng);
    SCOPED_TRACE(fmt::format("round {}, SIGKILL after {} ms", round, delay));
    pid_t g = fork();
    if (g == 0) {
      int devnull = open("/dev/null", O_RDWR);
      dup2(devnull, 1);
      dup2(devnull, 2);
      std::string pid = std::to_string(server.pid()), trace = temp_path(fmt::format("kill{}.gtr", round));
      execl(testing::gorepro_binary().c_str(), "gorepro", "record", "-q", "--backend", "ebpf", "--pid", pid.c_str(),
            "-o", trace.c_str(), nullptr);
      _exit(127);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    kill(g, SIGKILL);
    waitpid(g, nullptr, 0);
    ASSERT_TRUE(server.running()) << "the server died";
    ASSERT_EQ(server.ask("probe-key"), want) << "the server stopped answering";
  }
  std::string out;
  EXPECT_EQ(server.stop(&out), 0) << out;
  EXPECT_EQ(without_pid_and_addr(out), without_pid_and_addr(untraced_out));
}

TEST(EbpfLosses, ATinyRingLosesEventsAndTheTraceSaysWhoseHistoriesAreIncomplete) {
  SKIP_WITHOUT_EBPF_OR_NOT_NEWEST_GO();
  const std::string v = testing::built_go_versions().back();
  const std::string trace = temp_path("tiny-ring.gtr");
  // probetarget makes thousands of events in ~0.2 s; a 4 KiB ring holds about fifty records.
  auto rec = run({testing::gorepro_binary(), "record", "-q", "--backend", "ebpf", "--ring-size", "4K", "-o", trace,
                  "--", go_program("probetarget", v, false)});
  ASSERT_EQ(rec.exit_code, 0) << rec.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(rec.err, m, std::regex(R"(warning: (\d+) events were lost)"))) << rec.err;
  const uint64_t lost = std::stoull(m[1]);
  EXPECT_GT(lost, 0u);

  auto reader = replay::TraceReader::open(trace);
  ASSERT_TRUE(reader) << reader.error().message();
  EXPECT_TRUE((*reader)->warnings().empty());
  const replay::LossSummary& l = (*reader)->losses();
  EXPECT_EQ(l.count, lost);  // every loss the probes counted is in the trace
  EXPECT_FALSE(l.goids.empty());
  EXPECT_LE(l.unattributed, l.count);

  // Every reading command still works on it.
  auto rep = run({testing::gorepro_binary(), "report", "--format", "json", trace});
  ASSERT_EQ(rep.exit_code, 0) << rep.err;
  auto j = nlohmann::json::parse(rep.out);
  EXPECT_EQ(j["lost"]["events"], lost);
  EXPECT_EQ(j["lost"]["incomplete_goroutines"].size(), l.goids.size());
  auto text = run({testing::gorepro_binary(), "report", trace});
  EXPECT_NE(text.out.find(fmt::format("warning: {} events were lost", lost)), std::string::npos) << text.out;
  EXPECT_NE(run({testing::gorepro_binary(), "check", trace}).exit_code, 2);
  EXPECT_EQ(run({testing::gorepro_binary(), "replay", trace, "--json", "-x", "goto 100ms"}).exit_code, 0);

  // The same program with the default ring loses nothing.
  auto roomy = run({testing::gorepro_binary(), "record", "-q", "--backend", "ebpf", "-o", temp_path("roomy.gtr"), "--",
                    go_program("probetarget", v, false)});
  ASSERT_EQ(roomy.exit_code, 0) << roomy.err;
  EXPECT_EQ(roomy.err.find("lost"), std::string::npos) << roomy.err;
}

TEST(EbpfErrors, WithoutTheCapabilitiesOneLineSaysWhatToGrant) {
  SKIP_WITHOUT_EBPF_OR_NOT_NEWEST_GO();
  if (access("/usr/bin/setpriv", X_OK) != 0) GTEST_SKIP() << "setpriv (util-linux) is not installed";
  const std::string binary = go_program("sendleak", testing::built_go_versions().back(), false);
  const std::string trace = temp_path("unprivileged.gtr");
  // Root without CAP_SYS_ADMIN, CAP_BPF and CAP_PERFMON: what a container often gets.
  auto r = run({"/usr/bin/setpriv", "--inh-caps=-all", "--bounding-set=-sys_admin,-bpf,-perfmon", "--",
                testing::gorepro_binary(), "record", "--backend", "ebpf", "-o", trace, "--", binary});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.rfind("gorepro: the ebpf backend needs root or CAP_BPF and CAP_PERFMON", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("setcap cap_bpf,cap_perfmon"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--backend=ptrace"), std::string::npos) << r.err;
}

// Two ebpf recordings of one process coexist (ptrace allows one tracer), and the process's
// code is what it was once both are gone.
TEST(EbpfAttach, TwoRecordingsOfOneProcessCoexist) {
  SKIP_WITHOUT_EBPF_OR_NOT_NEWEST_GO();
  const std::string binary = go_program("kvserver", testing::built_go_versions().back(), false);
  Server server(binary);
  const std::string pid = std::to_string(server.pid());
  testing::RunResult first, second;
  std::thread a([&] {
    first = run({testing::gorepro_binary(), "record", "-q", "--backend", "ebpf", "--pid", pid, "--duration", "1500ms",
                 "-o", temp_path("first.gtr")});
  });
  std::thread b([&] {
    second = run({testing::gorepro_binary(), "record", "-q", "--backend", "ebpf", "--pid", pid, "--duration", "1500ms",
                  "-o", temp_path("second.gtr")});
  });
  a.join();
  b.join();
  EXPECT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(second.exit_code, 0) << second.err;
  for (const char* name : {"first.gtr", "second.gtr"}) {
    auto reader = replay::TraceReader::open(temp_path(name));
    ASSERT_TRUE(reader) << reader.error().message();
    EXPECT_GT((*reader)->event_count(), 100u) << name;  // the clients' requests kept both busy
  }
  EXPECT_TRUE(server.running());
  std::string out;
  EXPECT_EQ(server.stop(&out), 0) << out;
}

// record --binary PATH --all: two processes running the binary when it starts and one started
// while it records each get a trace of their own, holding exactly their own goroutines — the
// source's leak mark says 8 per process: preexisting in the first two, created in the third.
TEST(EbpfAll, EveryProcessOfABinaryGetsATraceOfItsOwnGoroutines) {
  SKIP_WITHOUT_EBPF_OR_NOT_NEWEST_GO();
  auto marks = testing::read_leak_marks(testing::go_source_dir("tests/go/attachtarget"));
  ASSERT_EQ(marks.size(), 1u);
  // A copy only this test runs: the uprobes go on the file, for every process that maps it.
  const std::string bin = temp_path("attachtarget-all");
  fs::copy_file(go_program("attachtarget", testing::built_go_versions().back(), false), bin,
                fs::copy_options::overwrite_existing);
  testing::Background a({bin, "-work", "8s"}), b({bin, "-work", "8s"});
  for (auto* t : {&a, &b}) {
    ASSERT_EQ(t->read_line().rfind("pid ", 0), 0u);
    ASSERT_EQ(t->read_line(), "ready\n");
  }
  const std::string out = temp_path("all.gtr");
  auto trace_of = [&](pid_t pid) { return temp_path(fmt::format("all-{}.gtr", pid)); };
  testing::RunResult rec;
  std::thread recorder([&] {
    rec = run({testing::gorepro_binary(), "record", "-q", "--backend", "ebpf", "--binary", bin, "--all", "--duration",
               "3s", "-o", out});
  });
  // The running processes' traces are created once the uprobes are in: start the third then.
  for (int i = 0; i < 200 && !fs::exists(trace_of(a.pid())); i++) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(fs::exists(trace_of(a.pid()))) << "no trace for a process running at the start";
  testing::Background c({bin, "-work", "300ms"});
  std::string c_out;
  EXPECT_EQ(c.wait(&c_out), 0) << c_out;
  recorder.join();
  ASSERT_EQ(rec.exit_code, 0) << rec.err;
  const size_t c_line = rec.err.find(fmt::format("gorepro: pid {}: ", c.pid()));
  ASSERT_NE(c_line, std::string::npos) << rec.err;
  EXPECT_NE(rec.err.substr(c_line, rec.err.find('\n', c_line) - c_line).find("it exited"), std::string::npos) << rec.err;

  for (auto [pid, preexisting] : {std::pair{a.pid(), true}, {b.pid(), true}, {c.pid(), false}}) {
    SCOPED_TRACE(fmt::format("pid {}", pid));
    auto reader = replay::TraceReader::open(trace_of(pid));
    ASSERT_TRUE(reader) << reader.error().message();
    EXPECT_EQ((*reader)->header().pid, pid);
    EXPECT_EQ(testing::trace_violations(**reader), "");
    auto rep = run({testing::gorepro_binary(), "report", "--format", "json", trace_of(pid)});
    ASSERT_EQ(rep.exit_code, 0) << rep.err;
    int alive = 0, pre = 0;
    const auto report = nlohmann::json::parse(rep.out);
    for (const auto& g : report["groups"]) {
      if (g["creation_site"]["file"] == marks[0].file && g["creation_site"]["line"] == marks[0].line) {
        alive += g["alive"].get<int>();
        pre += g["preexisting"].get<int>();
      }
    }
    EXPECT_EQ(alive, marks[0].count) << rep.out;
    EXPECT_EQ(pre, preexisting ? marks[0].count : 0) << rep.out;
  }
  for (auto* t : {&a, &b}) {
    std::string rest;
    EXPECT_EQ(t->wait(&rest), 0);
    EXPECT_NE(rest.find("result "), std::string::npos) << rest;
  }
}

}  // namespace
}  // namespace gorepro
