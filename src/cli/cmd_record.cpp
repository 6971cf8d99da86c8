// gorepro record: launch or attach to a Go program under a backend and write a .gtr trace.
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>

#include <fmt/format.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "dwarf/go_binary.h"
#include "replay/duration.h"
#include "replay/byte_codec.h"
#include "replay/trace_writer.h"
#include "tracer/ptrace_backend.h"
#include "tracer/runtime_output.h"
#include "tracer/tracee.h"

extern char** environ;

namespace gorepro::cli {

namespace {

struct RecordCliOptions {
  std::string output;
  std::string backend = "ptrace";
  int pid = 0;
  std::string duration;
  bool quiet = false;
  int stack_depth = 32;
  bool probe_execute = false;
  bool probe_states = false;
  bool schedtrace = false;      // --schedtrace given
  std::string schedtrace_ms;    // its value ("" = default)
  bool scheddetail = false;
  bool show_schedtrace = false;
  std::vector<std::string> command;
};

constexpr int kDefaultSchedtraceMs = 100;
// Where the program's runtime output goes when gorepro reads it apart from the program's own
// stderr: a descriptor number programs do not use by accident, below the usual 1024 limit.
constexpr int kRuntimeOutputFd = 1000;

// The environment for the program: ours, with GODEBUG's schedtrace/scheddetail replaced by
// what was asked and every other GODEBUG setting the user made kept.
std::vector<std::string> environment_with_schedtrace(int ms, bool detail) {
  std::vector<std::string> env;
  std::string godebug;
  for (char** e = environ; *e; e++) {
    std::string_view kv(*e);
    if (kv.rfind("GODEBUG=", 0) != 0) {
      env.emplace_back(kv);
      continue;
    }
    std::string_view rest = kv.substr(8);
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      if (!item.empty() && item.rfind("schedtrace=", 0) != 0 && item.rfind("scheddetail=", 0) != 0) {
        godebug += std::string(item) + ",";
      }
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }
  godebug += fmt::format("schedtrace={}", ms);
  if (detail) godebug += ",scheddetail=1";
  env.push_back("GODEBUG=" + godebug);
  return env;
}

// Feeds the runtime's SCHED blocks to the writer between the backend's events, on the
// recording thread, keeping event times non-decreasing. A block is paired with the dump the
// tracer saw the runtime begin last before the block's first byte arrived, and is appended
// once that dump has ended (its runtime.schedtrace return seen), stamped with the end; a block
// handed over late is stamped later, with the lag recorded. Without dump probes, blocks go in
// as they arrive.
class SchedFeed {
 public:
  SchedFeed(replay::TraceWriter& w, tracer::RuntimeOutputCapture* c) : w_(w), capture_(c) {}
  void dump(uint64_t now_ns, bool begin) {
    if (capture_) capture_->set_dump_in_progress(begin);
    if (begin) {
      dumps_.push_back(Dump{now_ns, 0, {}, false});
      if (dumps_.size() > 64) dumps_.pop_front();
    } else if (!dumps_.empty() && !dumps_.back().end_ns) {
      dumps_.back().end_ns = now_ns;
    }
  }
  void g_read(uint64_t goid) {
    if (!dumps_.empty() && !dumps_.back().end_ns) dumps_.back().reads.emplace_back(goid, w_.events_written());
  }
  Status before(uint64_t time_ns) { return feed(time_ns, false); }
  Status drain_all() { return feed(UINT64_MAX, true); }
  uint64_t appended() const { return appended_; }
  // The tracer saw the runtime begin its last dump and never end it: the program exited mid-dump.
  bool ended_mid_dump() const { return !dumps_.empty() && !dumps_.back().end_ns; }

 private:
  struct Dump {
    uint64_t begin_ns = 0, end_ns = 0;
    std::vector<std::pair<uint64_t, uint64_t>> reads;  // (goid, seq of the next event) per G line
    bool paired = false;  // a block was appended with it
  };
  Status feed(uint64_t time_ns, bool all) {
    if (capture_ && capture_->has_blocks()) {
      for (auto& b : capture_->take(time_ns)) pending_.push_back(std::move(b));
    }
    while (!pending_.empty()) {
      const auto& b = pending_.front();
      Dump d;
      // The dump a block came from: the last one not yet paired that began before the block's
      // first byte arrived. With scheddetail, only among dumps whose reads name the block's G
      // lines' goroutines in order — consecutive dumps often list the same goroutines, and a
      // block drained late must not take the next dump's reads.
      // A dead g's line may name the goroutine that reused it a moment after our read.
      const std::vector<std::pair<uint64_t, bool>> goids = g_line_goids(b.text);
      auto reads_match = [&](const Dump& x) {
        return x.reads.size() == goids.size() &&
               std::equal(goids.begin(), goids.end(), x.reads.begin(),
                          [](const auto& g, const auto& r) { return g.first == r.first || g.second; });
      };
      bool any_match = false;
      for (const Dump& x : dumps_) any_match = any_match || (!x.paired && !goids.empty() && reads_match(x));
      auto found = dumps_.rend();
      for (auto it = dumps_.rbegin(); it != dumps_.rend(); ++it) {
        if (it->paired || (any_match && !reads_match(*it))) continue;
        found = it;
        if (it->begin_ns <= b.first_ns) break;
      }
      if (found != dumps_.rend()) {
        found->paired = true;
        d = *found;
        // A later dump began: this one has ended, even if its return was not seen.
        if (!d.end_ns && found != dumps_.rbegin()) d.end_ns = std::prev(found)->begin_ns;
        if (!reads_match(d)) d.reads.clear();  // they belong to no block we can tell
      }
      if (d.begin_ns && !d.end_ns && !all) {  // still printing: its end will come
        if (found != dumps_.rend()) found->paired = false;
        break;
      }
      uint64_t t = std::max({b.first_ns, d.end_ns, last_});
      last_ = t;
      appended_++;
      replay::Event e = replay::Event::sched(t, w_.intern_string(b.text), t - b.first_ns, b.last_ns - b.first_ns);
      e.dump_begin_ns = d.begin_ns, e.dump_end_ns = d.end_ns;
      if (!d.reads.empty()) e.g_reads = w_.intern_string(pack_reads(d.reads, w_.events_written()));
      if (auto st = w_.append(e); !st) return st;
      pending_.pop_front();
    }
    if (time_ns != UINT64_MAX) last_ = std::max(last_, time_ns);
    return Ok{};
  }
  // The goids of a block's "  G<goid>: status=<n>..." lines, in order, each with whether the
  // status is dead (6) (empty without scheddetail).
  static std::vector<std::pair<uint64_t, bool>> g_line_goids(std::string_view text) {
    std::vector<std::pair<uint64_t, bool>> out;
    for (size_t at = 0; at < text.size();) {
      size_t end = text.find('\n', at);
      if (end == std::string_view::npos) end = text.size();
      std::string_view line = text.substr(at, end - at);
      if (line.size() > 3 && line.substr(0, 3) == "  G" && std::isdigit(static_cast<unsigned char>(line[3]))) {
        size_t status = line.find(": status=");
        bool dead = status != std::string_view::npos && line.substr(status + 9, 2) == "6(";
        out.emplace_back(std::strtoull(std::string(line.substr(3, 20)).c_str(), nullptr, 10), dead);
      }
      at = end + 1;
    }
    return out;
  }
  // docs/trace-format.md, sched field 6: varint goid, varint (sched seq - position) per read.
  static std::string pack_reads(const std::vector<std::pair<uint64_t, uint64_t>>& reads, uint64_t seq) {
    std::vector<uint8_t> bytes;
    replay::ByteSink sink(bytes);
    for (auto [goid, pos] : reads) {
      sink.varint(goid);
      sink.varint(seq - pos);
    }
    return std::string(bytes.begin(), bytes.end());
  }
  replay::TraceWriter& w_;
  tracer::RuntimeOutputCapture* capture_;
  std::deque<tracer::RuntimeOutputCapture::Block> pending_;
  std::deque<Dump> dumps_;
  uint64_t last_ = 0;
  uint64_t appended_ = 0;
};


std::atomic<bool> g_stop{false};
volatile sig_atomic_t g_child = 0;  // launched target; signals sent to gorepro by a process go to it

void on_signal(int sig, siginfo_t* info, void*) {
  if (g_child > 0) {
    // Launched: a terminal's Ctrl-C/hangup already reached the target (same process group);
    // a signal sent to gorepro by a process (kill) is passed on, so the target sees it once.
    if (info->si_code <= 0) kill(g_child, sig);
    return;
  }
  g_stop.store(true);
}

void install_signal_handlers() {
  struct sigaction sa = {};
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO;  // no SA_RESTART: waitpid returns EINTR and the loop looks at g_stop
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
}

// Finds the program like execvp would: a path with a slash as is, else the first match in PATH.
std::optional<std::string> resolve_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = getenv("PATH");
  std::string p = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    std::string dir = p.substr(start, end - start);
    std::string cand = (dir.empty() ? "." : dir) + "/" + name;
    if (access(cand.c_str(), X_OK) == 0) return cand;
    start = end + 1;
  }
  return std::nullopt;
}

// Adapts the trace writer to the backend's sink.
class WriterSink : public tracer::EventSink {
 public:
  WriterSink(replay::TraceWriter& w, SchedFeed& sched) : w_(w), sched_(sched) {}
  replay::StackId intern_stack(std::span<const uint64_t> pcs) override { return w_.intern_stack(pcs); }
  Status emit(const replay::Event& e) override {
    if (auto st = sched_.before(e.time_ns); !st) return st;
    return w_.append(e);
  }
  Status tick(uint64_t now_ns) override {
    if (auto st = sched_.before(now_ns); !st) return st;
    return w_.flush_if_due(now_ns);
  }
  void schedtrace_dump(uint64_t now_ns, bool begin) override { sched_.dump(now_ns, begin); }
  void schedtrace_g_read(uint64_t goid) override { sched_.g_read(goid); }

 private:
  replay::TraceWriter& w_;
  SchedFeed& sched_;
};

std::string site_of(const GoBinary& b, uint64_t gopc) {
  if (!gopc) return "";
  auto frames = b.symbolizer().frames(gopc - 1);
  if (frames.empty()) return fmt::format("{:#x}", gopc);
  return fmt::format("{}:{}", std::filesystem::path(frames[0].file).filename().string(), frames[0].line);
}

int run_record(const RecordCliOptions& o) {
  const bool attach = o.pid != 0;
  if (attach == !o.command.empty()) {
    return fail(make_error(attach ? "give either --pid or a program to launch, not both"
                                  : "nothing to record",
                           "use `gorepro record -- PROGRAM ARGS...` or `gorepro record --pid PID`"),
                2);
  }
  if (o.backend != "ptrace") {
    return fail(make_error(fmt::format("the {} backend is not available in this build", o.backend),
                           "use --backend=ptrace"),
                2);
  }
  int schedtrace_ms = 0;
  if (o.schedtrace) {
    if (attach) {
      return fail(make_error("--schedtrace cannot be used with --pid: GODEBUG is read once, when a Go program starts",
                             "launch the program under gorepro, or run it with GODEBUG=schedtrace=100,scheddetail=1, "
                             "keep its stderr, and give that to `gorepro correlate TRACE --schedtrace-log FILE`"),
                  2);
    }
    schedtrace_ms = kDefaultSchedtraceMs;
    if (!o.schedtrace_ms.empty()) {
      char* end = nullptr;
      long v = std::strtol(o.schedtrace_ms.c_str(), &end, 10);
      if (*end != '\0' || v <= 0 || v > 3'600'000) {
        return fail(make_error(fmt::format("invalid --schedtrace period '{}'", o.schedtrace_ms),
                               "give milliseconds, e.g. --schedtrace=10"), 2);
      }
      schedtrace_ms = static_cast<int>(v);
    }
  } else if (o.scheddetail || o.show_schedtrace) {
    return fail(make_error("--scheddetail and --show-schedtrace need --schedtrace", "add --schedtrace[=MS]"), 2);
  }
  std::optional<uint64_t> duration_ns;
  if (!o.duration.empty()) {
    duration_ns = replay::parse_duration(o.duration);
    if (!duration_ns || *duration_ns == 0) {
      return fail(make_error(fmt::format("invalid --duration '{}'", o.duration), "use a Go duration such as 30s, 500ms or 2m"), 2);
    }
  }

  // The binary first: a non-Go program or unsupported version is refused before anything runs.
  std::string binary_path;
  if (attach) {
    if (kill(o.pid, 0) != 0 && errno == ESRCH) {
      return fail(make_error(fmt::format("no process with pid {}", o.pid), "check the pid with `ps` or `pgrep`"), 1);
    }
    char buf[PATH_MAX];
    ssize_t n = readlink(fmt::format("/proc/{}/exe", o.pid).c_str(), buf, sizeof buf - 1);
    if (n <= 0) {
      return fail(make_error(fmt::format("cannot see the executable of pid {}: {}", o.pid, std::strerror(errno)),
                             "run gorepro as root or as the process's user"), 1);
    }
    binary_path = std::string(buf, static_cast<size_t>(n));
  } else {
    auto resolved = resolve_program(o.command[0]);
    if (!resolved) {
      return fail(make_error(fmt::format("{}: command not found", o.command[0]), "give a path or put it on PATH"), 1);
    }
    binary_path = *resolved;
  }
  auto binary = GoBinary::open(attach ? fmt::format("/proc/{}/exe", o.pid) : binary_path);
  if (!binary) {
    Error e = binary.error();
    if (attach) e.what = fmt::format("pid {} ({}): {}", o.pid, tracer::process_name(o.pid), e.what);
    return fail(e, 1);
  }

  replay::TraceHeader header;
  header.binary_path = std::filesystem::absolute(binary_path).string();
  header.build_id = (*binary)->build_id();
  header.go_version = (*binary)->go_version();
  header.backend = "ptrace";
  tracer::RecordOptions ropts;
  ropts.stack_depth = o.stack_depth;
  // --schedtrace is there to hold gorepro's table against the runtime's, which tells running,
  // runnable, waiting and system call apart: observe every one of those changes.
  ropts.probe_execute = o.probe_execute;
  ropts.probe_states = o.probe_states || o.schedtrace;
  ropts.attached = attach;
  ropts.probe_schedtrace = o.schedtrace;
  ropts.probe_sched_reads = o.schedtrace && o.scheddetail;
  for (const Probe* p : tracer::chosen_probes(**binary, ropts)) header.probes.push_back(p->role + ":" + p->function.name);
  header.wait_reasons = (*binary)->layout().wait_reasons;
  if (attach) header.pid = o.pid; else header.argv = o.command;

  // Fail on an unwritable output before starting or stopping anything.
  std::string program_name = std::filesystem::path(binary_path).filename().string();
  if (!o.output.empty()) {
    int fd = ::open(o.output.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      return fail(make_error(fmt::format("cannot write the trace file {}: {}", o.output, std::strerror(errno)),
                             "choose another path with -o"), 1);
    }
    ::close(fd);
  } else if (access(".", W_OK) != 0) {
    return fail(make_error("cannot write a trace in the current directory", "choose a path with -o FILE.gtr"), 1);
  }

  install_signal_handlers();
  std::unique_ptr<tracer::Tracee> tracee;
  std::unique_ptr<tracer::RuntimeOutputCapture> capture;
  // Where the runtime's prints will go: a descriptor of their own when gorepro can point the
  // runtime's write at it, so the program's own stderr never passes through gorepro; else the
  // whole stderr goes through the pipe and the splitter.
  std::optional<uint64_t> fd_immediate;
  if (schedtrace_ms) fd_immediate = (*binary)->runtime_output_fd_immediate();
  if (attach) {
    auto t = tracer::Tracee::attach(o.pid);
    if (!t) return fail(t.error(), 1);
    tracee = std::move(*t);
  } else {
    tracer::LaunchOptions lopts;
    if (schedtrace_ms) {
      auto c = tracer::RuntimeOutputCapture::create({.forward_fd = 2, .show_blocks = o.show_schedtrace});
      if (!c) return fail(c.error(), 1);
      capture = std::move(*c);
      lopts.env = environment_with_schedtrace(schedtrace_ms, o.scheddetail);
      lopts.fds.emplace_back(fd_immediate ? kRuntimeOutputFd : 2, capture->write_end());
    }
    auto t = tracer::Tracee::launch(binary_path, o.command, lopts);
    if (!t) return fail(t.error(), 1);
    tracee = std::move(*t);
    g_child = tracee->pid();
    if (capture) {
      if (fd_immediate) {
        uint64_t bias = tracee->entry_address() ? tracee->entry_address() - (*binary)->elf().entry() : 0;
        const int fd = kRuntimeOutputFd;
        auto st = tracee->patch(*fd_immediate + bias, {static_cast<uint8_t>(fd & 0xff), static_cast<uint8_t>(fd >> 8), 0, 0});
        if (!st) {
          kill(tracee->pid(), SIGKILL);
          (void)tracee->detach();
          return fail(st.error(), 1);
        }
      }
      capture->start();
    }
  }
  std::string out = o.output.empty() ? fmt::format("gorepro-{}-{}.gtr", program_name, tracee->pid()) : o.output;
  header.clock = replay::ClockBase::now();
  auto writer = replay::TraceWriter::create(out, header);
  if (!writer) {
    if (!attach) kill(tracee->pid(), SIGKILL);  // it has not run a single instruction yet
    (void)tracee->detach();
    return fail(writer.error(), 1);
  }
  SchedFeed sched_feed(**writer, capture.get());
  WriterSink sink(**writer, sched_feed);

  tracer::RecordControl control;
  control.stop = &g_stop;
  if (duration_ns) control.deadline_ns = tracer::monotonic_ns() + *duration_ns;
  const bool show_status = !o.quiet && isatty(2);
  bool status_shown = false;
  if (show_status) {
    control.progress = [&](const tracer::RecordProgress& p) {
      std::string top = p.top_rate > 0 ? fmt::format(", fastest: {} +{:.0f}/s", site_of(**binary, p.top_gopc), p.top_rate) : "";
      fmt::print(stderr, "\r\x1b[Kgorepro: {} events ({:.0f}/s), {} live goroutines{}", p.events, p.events_per_s, p.live, top);
      std::fflush(stderr);
      status_shown = true;
    };
  }
  auto outcome = tracer::PtraceBackend::record(**binary, *tracee, sink, ropts, control);
  if (status_shown) fmt::print(stderr, "\r\x1b[K");
  const bool exited = outcome && outcome->how == tracer::RecordOutcome::How::kExited;
  // The program is gone: its last blocks are in the pipe (a child of it may hold the pipe open,
  // hence the bound). Still running (detached): take what has arrived; the rest is forwarded.
  if (capture && exited) capture->finish(300'000'000);
  Status drained = sched_feed.drain_all();
  if (!drained) fmt::print(stderr, "gorepro: {}\n", drained.error().message());
  Status closed = (*writer)->close();
  if (!outcome) return fail(outcome.error(), 1);
  if (!closed) fmt::print(stderr, "gorepro: {}\n", closed.error().message());

  const tracer::RecordOutcome& r = *outcome;
  if (r.how != tracer::RecordOutcome::How::kExited) fmt::print(stderr, "gorepro: {}\n", r.message);
  fmt::print(stderr, "gorepro: {} events{} written to {}\n", (*writer)->events_written(),
             r.preexisting ? fmt::format(" ({} goroutines found at attach)", r.preexisting) : "", out);
  if (r.stats.read_failures) {
    fmt::print(stderr, "gorepro: warning: {} probe hits could not be decoded (target memory unreadable)\n",
               r.stats.read_failures);
  }
  if (r.unemulated_steps) {
    fmt::print(stderr, "gorepro: warning: {} probe hits were stepped over with the breakpoint lifted; "
               "hits on other threads at those instants may be missing\n", r.unemulated_steps);
  }
  if (r.stats.settle_timeouts || r.stats.settle_blocked) {
    fmt::print(stderr, "gorepro: note: {} of the runtime's goroutine reads went ahead before a change gorepro had "
               "recorded for that goroutine landed ({} waited 20 ms for its thread to run, {} found its thread held "
               "in one of gorepro's own stops); `correlate` may list them\n",
               r.stats.settle_timeouts + r.stats.settle_blocked, r.stats.settle_timeouts, r.stats.settle_blocked);
  }

  if (capture) {
    fmt::print(stderr, "gorepro: {} schedtrace samples recorded{}{}{}\n", sched_feed.appended(),
               capture->blocks_skipped()
                   ? fmt::format(", {} interleaved with other output (passed through, not recorded)",
                                 capture->blocks_skipped())
                   : "",
               capture->blocks_cut_short() || (exited && sched_feed.ended_mid_dump())
                   ? "; the program exited in the middle of the last one"
                   : "",
               fd_immediate ? "" : " (the program's whole stderr went through gorepro)");
  }
  fmt::print(stderr, "gorepro: see the leaks with: gorepro report {}\n", out);

  int code = (closed && r.how != tracer::RecordOutcome::How::kSinkFailed) ? 0 : 1;
  if (!attach) {
    int status = 0;
    if (r.how == tracer::RecordOutcome::How::kExited) {
      return code ? code : r.exit_status;
    }
    // Detached early: the program runs on; its status is ours, as if launched without gorepro.
    if (const auto& exited = tracee->exit_stop()) return code ? code : exited->exit_status;
    while (waitpid(tracee->pid(), &status, 0) < 0 && errno == EINTR) {
    }
    if (capture) capture->finish(300'000'000);
    if (code) return code;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  return code;
}

}  // namespace

void add_record_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<RecordCliOptions>();
  CLI::App* cmd = app.add_subcommand("record", "Record goroutine lifecycles of a Go program into a .gtr trace");
  cmd->footer(
      "Examples:\n"
      "  gorepro record -o leak.gtr -- ./server --port 0\n"
      "  gorepro record --pid 4242 --duration 30s\n"
      "Launched programs run until they exit; gorepro then exits with their status.\n"
      "Attached programs are detached after --duration, Ctrl-C or SIGTERM and keep running.\n"
      "--schedtrace works only for launched programs (GODEBUG is read at start); for attached ones,\n"
      "capture the program's stderr yourself and use `gorepro correlate TRACE --schedtrace-log FILE`.");
  cmd->add_option("-o,--output", o->output, "Trace file to write (default: gorepro-PROGRAM-PID.gtr)");
  cmd->add_option("--backend", o->backend, "How to observe the program (this build has ptrace; gdb and ebpf are planned)")
      ->check(CLI::IsMember({"ptrace", "gdb", "ebpf"}))
      ->capture_default_str();
  cmd->add_option("-p,--pid", o->pid, "Attach to this running Go process instead of launching one");
  cmd->add_option("-d,--duration", o->duration, "Stop recording (and detach) after this long, e.g. 30s");
  cmd->add_flag("-q,--quiet", o->quiet, "No live status line on stderr");
  cmd->add_option("--stack-depth", o->stack_depth, "Frames kept per creation/block stack")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_flag("--probe-execute", o->probe_execute,
                "Also stop where every goroutine starts running (catches rare wake paths; slower)");
  cmd->add_flag("--probe-states", o->probe_states,
                "Also stop at every switch between running, runnable and system call, so the trace knows all "
                "four goroutine states (includes --probe-execute; two more stops per system call; implied by "
                "--schedtrace)");
  CLI::Option* schedtrace = cmd->add_option("--schedtrace", o->schedtrace_ms,
                  "Record the Go runtime's scheduler dump every MS milliseconds (default 100) into the trace, "
                  "via GODEBUG=schedtrace; use --schedtrace=MS or put -- before the program")
      ->expected(0, 1);
  cmd->add_flag("--scheddetail", o->scheddetail,
                "With --schedtrace: every P, M and goroutine in each dump (GODEBUG=scheddetail=1); needed by "
                "`gorepro correlate` to check goroutine states");
  cmd->add_flag("--show-schedtrace", o->show_schedtrace, "With --schedtrace: also show the SCHED lines on stderr");
  cmd->add_option("command", o->command, "PROGRAM ARGS... to launch (after --)");
  cmd->callback([o, schedtrace, &exit_code] {
    o->schedtrace = schedtrace->count() > 0;
    exit_code = run_record(*o);
  });
}

}  // namespace gorepro::cli
