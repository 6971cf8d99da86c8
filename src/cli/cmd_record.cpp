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
#include <filesystem>

#include <fmt/format.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "dwarf/go_binary.h"
#include "replay/duration.h"
#include "replay/trace_writer.h"
#include "tracer/ptrace_backend.h"
#include "tracer/tracee.h"

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
  std::vector<std::string> command;
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
  explicit WriterSink(replay::TraceWriter& w) : w_(w) {}
  replay::StackId intern_stack(std::span<const uint64_t> pcs) override { return w_.intern_stack(pcs); }
  Status emit(const replay::Event& e) override { return w_.append(e); }
  Status tick(uint64_t now_ns) override { return w_.flush_if_due(now_ns); }

 private:
  replay::TraceWriter& w_;
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
  ropts.probe_execute = o.probe_execute;
  ropts.attached = attach;
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
  if (attach) {
    auto t = tracer::Tracee::attach(o.pid);
    if (!t) return fail(t.error(), 1);
    tracee = std::move(*t);
  } else {
    auto t = tracer::Tracee::launch(binary_path, o.command);
    if (!t) return fail(t.error(), 1);
    tracee = std::move(*t);
    g_child = tracee->pid();
  }
  std::string out = o.output.empty() ? fmt::format("gorepro-{}-{}.gtr", program_name, tracee->pid()) : o.output;
  header.clock = replay::ClockBase::now();
  auto writer = replay::TraceWriter::create(out, header);
  if (!writer) {
    if (!attach) kill(tracee->pid(), SIGKILL);  // it has not run a single instruction yet
    (void)tracee->detach();
    return fail(writer.error(), 1);
  }
  WriterSink sink(**writer);

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
  fmt::print(stderr, "gorepro: see the leaks with: gorepro report {}\n", out);

  int code = (closed && r.how != tracer::RecordOutcome::How::kSinkFailed) ? 0 : 1;
  if (!attach) {
    int status = 0;
    if (r.how == tracer::RecordOutcome::How::kExited) {
      return code ? code : r.exit_status;
    }
    // Detached early: the program runs on; its status is ours, as if launched without gorepro.
    while (waitpid(tracee->pid(), &status, 0) < 0 && errno == EINTR) {
    }
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
      "Attached programs are detached after --duration, Ctrl-C or SIGTERM and keep running.");
  cmd->add_option("-o,--output", o->output, "Trace file to write (default: gorepro-PROGRAM-PID.gtr)");
  cmd->add_option("--backend", o->backend, "How to observe the program: ptrace")->check(CLI::IsMember({"ptrace", "gdb", "ebpf"}));
  cmd->add_option("-p,--pid", o->pid, "Attach to this running Go process instead of launching one");
  cmd->add_option("-d,--duration", o->duration, "Stop recording (and detach) after this long, e.g. 30s");
  cmd->add_flag("-q,--quiet", o->quiet, "No live status line on stderr");
  cmd->add_option("--stack-depth", o->stack_depth, "Frames kept per creation/block stack")->check(CLI::Range(1, 256));
  cmd->add_flag("--probe-execute", o->probe_execute,
                "Also stop where every goroutine starts running (catches rare wake paths; slower)");
  cmd->add_option("command", o->command, "PROGRAM ARGS... to launch (after --)");
  cmd->callback([o, &exit_code] { exit_code = run_record(*o); });
}

}  // namespace gorepro::cli
