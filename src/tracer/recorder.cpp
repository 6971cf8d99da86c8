#include "tracer/recorder.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "replay/trace_facts.h"
#include "replay/trace_symbols.h"
#include "replay/trace_writer.h"
#include "tracer/metrics_server.h"
#include "tracer/runtime_output.h"
#include "tracer/sched_feed.h"
#include "tracer/sched_pacer.h"
#include "tracer/tracee.h"  // process_name

extern char** environ;

namespace gorepro::tracer {

namespace {

constexpr uint64_t kTickNs = 200'000'000;  // progress + flush cadence
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

// `env` (gorepro's own when empty) with each KEY=VALUE of `overrides` replacing its KEY.
std::vector<std::string> environment_with(std::vector<std::string> env, const std::vector<std::string>& overrides) {
  if (env.empty()) {
    for (char** e = environ; *e; e++) env.emplace_back(*e);
  }
  for (const std::string& kv : overrides) {
    const std::string key = kv.substr(0, kv.find('=') + 1);
    std::erase_if(env, [&](const std::string& e) { return e.starts_with(key); });
    env.push_back(kv);
  }
  return env;
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

// Counts what passes to the trace, for the status line: live goroutines and creations per site.
class CountingSink : public EventSink {
 public:
  explicit CountingSink(EventSink& next) : next_(next) {}
  replay::StackId intern_stack(std::span<const uint64_t> pcs) override { return next_.intern_stack(pcs); }
  // record --until: every event also goes into these facts.
  void feed(replay::TraceFacts* facts) { facts_ = facts; }
  Status emit(const replay::Event& e) override {
    count(e);
    return next_.emit(e);
  }
  Status emit_labeled(const replay::Event& e, const replay::Labels& labels) override {
    count(e);
    return next_.emit_labeled(e, labels);
  }
  void count(const replay::Event& e) {
    events_++;
    if (facts_) facts_->add(e);
    switch (e.kind) {
      case replay::EventKind::Create:
        live_++;
        creates_[e.pc]++;
        break;
      case replay::EventKind::Preexisting:
        live_++;
        break;
      case replay::EventKind::Exit:
        live_--;
        break;
      default:
        break;
    }
  }
  Status tick(uint64_t now_ns) override { return next_.tick(now_ns); }
  void schedtrace_dump(uint64_t now_ns, bool begin) override { next_.schedtrace_dump(now_ns, begin); }
  void schedtrace_g_read(uint64_t goid) override { next_.schedtrace_g_read(goid); }
  void schedtrace_reads_capped() override { next_.schedtrace_reads_capped(); }
  Status events_lost(const replay::LostEvents& lost) override { return next_.events_lost(lost); }
  Status snapshot_taken(const replay::SnapshotMark& mark) override { return next_.snapshot_taken(mark); }
  Status verdicts_taken(const replay::LeakVerdicts& v) override {
    verdicts_ = v;
    return next_.verdicts_taken(v);
  }
  const std::optional<replay::LeakVerdicts>& verdicts() const { return verdicts_; }

  uint64_t events() const { return events_; }
  int64_t live() const { return live_; }
  const std::unordered_map<uint64_t, uint64_t>& creates() const { return creates_; }

 private:
  EventSink& next_;
  replay::TraceFacts* facts_ = nullptr;
  uint64_t events_ = 0;
  int64_t live_ = 0;
  std::unordered_map<uint64_t, uint64_t> creates_;  // gopc -> goroutines created there
  std::optional<replay::LeakVerdicts> verdicts_;
};

// The status line's numbers between two ticks.
class ProgressMeter {
 public:
  RecordProgress next(const CountingSink& counts, uint64_t now) {
    RecordProgress p;
    p.events = counts.events();
    p.live = counts.live();
    const double secs = static_cast<double>(now - last_ns_) / 1e9;
    if (last_ns_ && secs > 0) {
      p.events_per_s = static_cast<double>(p.events - last_events_) / secs;
      uint64_t best = 0;
      for (const auto& [gopc, count] : counts.creates()) {
        auto it = creates_at_last_.find(gopc);
        uint64_t delta = count - (it == creates_at_last_.end() ? 0 : it->second);
        if (delta > best) {
          best = delta;
          p.top_gopc = gopc;
        }
      }
      p.top_rate = static_cast<double>(best) / secs;
    }
    creates_at_last_ = counts.creates();
    last_events_ = p.events;
    last_ns_ = now;
    return p;
  }

 private:
  uint64_t last_ns_ = 0, last_events_ = 0;
  std::unordered_map<uint64_t, uint64_t> creates_at_last_;
};

// record --metrics: the live counts in Prometheus text format (version 0.0.4).
std::string metrics_text(const replay::TraceFacts& facts, const RecordProgress& p, const BackendStats& stats,
                         uint64_t trace_bytes) {
  std::string out;
  auto head = [&](const char* name, const char* type, const char* help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  auto site_labels = [](const replay::TraceFacts::SiteCount& s) {
    std::string file = std::filesystem::path(s.frame.file).filename().string();
    std::string where = s.frame.line ? fmt::format("{}:{}", file, s.frame.line) : s.frame.function;
    return fmt::format("go_statement=\"{}\",function=\"{}\",start_function=\"{}\"", prometheus_label(where),
                       prometheus_label(s.frame.function), prometheus_label(s.start_function));
  };
  const auto sites = facts.site_counts();
  head("gorepro_goroutines", "gauge",
       "Goroutines of the program alive now, per go statement, state and wait reason (the runtime's own left out).");
  for (const auto& s : sites) {
    const std::string labels = site_labels(s);
    for (const auto& [key, n] : s.alive) {
      out += fmt::format("gorepro_goroutines{{{},state=\"{}\"{}}} {}\n", labels, replay::go_state_name(key.first),
                         key.second.empty() ? "" : fmt::format(",wait_reason=\"{}\"", prometheus_label(key.second)), n);
    }
  }
  head("gorepro_goroutines_created_total", "counter",
       "Goroutines created per go statement since the recording began (those found at attach included).");
  for (const auto& s : sites) out += fmt::format("gorepro_goroutines_created_total{{{}}} {}\n", site_labels(s), s.created);
  head("gorepro_live_goroutines", "gauge", "Goroutines of the program alive now.");
  out += fmt::format("gorepro_live_goroutines {}\n", facts.live());
  head("gorepro_events_total", "counter", "Events recorded.");
  out += fmt::format("gorepro_events_total {}\n", p.events);
  head("gorepro_events_per_second", "gauge", "Events recorded per second over the last refresh interval.");
  out += fmt::format("gorepro_events_per_second {:.1f}\n", p.events_per_s);
  head("gorepro_events_lost_total", "counter", "Events the backend had no room for (ebpf ring buffer full).");
  out += fmt::format("gorepro_events_lost_total {}\n", stats.lost);
  head("gorepro_trace_bytes", "gauge", "Bytes of the trace file written so far.");
  out += fmt::format("gorepro_trace_bytes {}\n", trace_bytes);
  return out;
}

std::atomic<Backend*> g_backend{nullptr};
volatile sig_atomic_t g_child = 0;  // launched target; signals sent to gorepro by a process go to it
std::atomic<bool> g_stop{false};
std::atomic<uint64_t> g_dump_requests{0};  // SIGUSR1s while a --ring recording runs

void on_dump_signal(int) { g_dump_requests.fetch_add(1); }

// While a --ring recording runs, SIGUSR1 asks for a dump of the window (else it would kill us).
class DumpSignal {
 public:
  explicit DumpSignal(bool on) : on_(on) {
    if (!on_) return;
    struct sigaction sa = {};
    sa.sa_handler = on_dump_signal;  // no SA_RESTART: a blocking wait returns and the loop looks
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, &old_);
  }
  ~DumpSignal() {
    if (on_) sigaction(SIGUSR1, &old_, nullptr);
  }

 private:
  bool on_;
  struct sigaction old_ = {};
};

// TRACE.gtr -> TRACE.N.gtr: where the Nth dump asked by SIGUSR1 goes.
std::string dump_path(const std::string& trace, int n) {
  const bool gtr = trace.size() > 4 && trace.ends_with(".gtr");
  return fmt::format("{}.{}.gtr", gtr ? trace.substr(0, trace.size() - 4) : trace, n);
}

void on_signal(int sig, siginfo_t* info, void*) {
  if (g_child > 0) {
    // Launched: a terminal's Ctrl-C/hangup already reached the target (same process group);
    // a signal sent to gorepro by a process (kill) is passed on, so the target sees it once.
    if (info->si_code <= 0) kill(g_child, sig);
    return;
  }
  g_stop.store(true);
  if (Backend* b = g_backend.load()) b->request_stop();
}

constexpr int kRoutedSignals[] = {SIGINT, SIGTERM, SIGHUP};
struct sigaction g_old_actions[3];
int g_signals_depth = 0;

}  // namespace

RecordSignals::RecordSignals() {
  if (g_signals_depth++ > 0) return;
  g_stop.store(false);
  struct sigaction sa = {};
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO;  // no SA_RESTART: a blocking wait returns EINTR and the loop looks
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < std::size(kRoutedSignals); i++) sigaction(kRoutedSignals[i], &sa, &g_old_actions[i]);
}

RecordSignals::~RecordSignals() {
  if (--g_signals_depth > 0) return;
  for (size_t i = 0; i < std::size(kRoutedSignals); i++) sigaction(kRoutedSignals[i], &g_old_actions[i], nullptr);
  g_backend.store(nullptr);
  g_child = 0;
}

bool RecordSignals::stop_requested() { return g_stop.load(); }

void RecordSignals::watch(Backend* backend, pid_t launched_child) {
  g_child = launched_child;
  g_backend.store(backend);
  if (backend && g_stop.load()) backend->request_stop();  // asked before the backend existed
}

replay::TraceHeader trace_header(const GoBinary& binary, const std::string& path, std::string_view backend,
                                 const std::vector<const Probe*>& probes) {
  replay::TraceHeader header;
  header.binary_path = std::filesystem::absolute(path).string();
  header.build_id = binary.build_id();
  header.go_version = binary.go_version();
  header.backend = std::string(backend);
  for (const Probe* p : probes) header.probes.push_back(p->role + ":" + p->function.name);
  header.wait_reasons = binary.layout().wait_reasons;
  return header;
}

std::string site_of(const GoBinary& b, uint64_t gopc) {
  if (!gopc) return "";
  auto frames = b.symbolizer().frames(gopc - 1);
  if (frames.empty()) return fmt::format("{:#x}", gopc);
  return fmt::format("{}:{}", std::filesystem::path(frames[0].file).filename().string(), frames[0].line);
}

int RecordResult::exit_code() const {
  const int own = (trace_closed && how != How::kSinkFailed && how != How::kFailed) ? 0 : 1;
  if (!launched) return own;
  if (own) return own;
  return exit ? exit->exit_status : 0;
}

Status validate(const RecordRequest& r) {
  const bool attach = r.pid != 0;
  if (attach == !r.command.empty()) {
    return make_error(attach ? "give either --pid or a program to launch, not both" : "nothing to record",
                      "use `gorepro record -- PROGRAM ARGS...` or `gorepro record --pid PID`");
  }
  if (r.pid < 0) return make_error(fmt::format("invalid pid {}", r.pid), "give the pid of a running Go program");
  if (r.schedtrace_ms && attach) {
    return make_error("--schedtrace cannot be used with --pid: GODEBUG is read once, when a Go program starts",
                      "launch the program under gorepro, or run it with GODEBUG=schedtrace=100,scheddetail=1, "
                      "keep its stderr, and give that to `gorepro correlate TRACE --schedtrace-log FILE`");
  }
  if (!r.schedtrace_ms && (r.scheddetail || r.show_schedtrace || r.schedtrace_fixed)) {
    return make_error("--scheddetail, --show-schedtrace and --schedtrace-fixed need --schedtrace", "add --schedtrace[=MS]");
  }
  if (r.duration_ns && *r.duration_ns == 0) {
    return make_error("invalid --duration 0", "use a Go duration such as 30s, 500ms or 2m");
  }
  if ((r.ring_window_ns || r.ring_bytes) && r.schedtrace_ms) {
    return make_error("--ring cannot go with --schedtrace: every scheduler dump is a new string the trace keeps for "
                      "the whole recording, so memory would grow without bound",
                      "record the flight window without --schedtrace, or --schedtrace without --ring");
  }
  return Ok{};
}

Result<std::string> target_path(const RecordRequest& r) {
  if (r.pid) {
    if (kill(r.pid, 0) != 0 && errno == ESRCH) {
      return make_error(fmt::format("no process with pid {}", r.pid), "check the pid with `ps` or `pgrep`");
    }
    char buf[PATH_MAX];
    ssize_t n = readlink(fmt::format("/proc/{}/exe", r.pid).c_str(), buf, sizeof buf - 1);
    if (n <= 0) {
      return make_error(fmt::format("cannot see the executable of pid {}: {}", r.pid, std::strerror(errno)),
                        "run gorepro as root or as the process's user");
    }
    return std::string(buf, static_cast<size_t>(n));
  }
  auto resolved = resolve_program(r.command[0]);
  if (!resolved) return make_error(fmt::format("{}: command not found", r.command[0]), "give a path or put it on PATH");
  return *resolved;
}

Result<std::unique_ptr<GoBinary>> open_target_binary(const RecordRequest& r) {
  auto path = target_path(r);
  if (!path) return path.error();
  // Attached: the running image, even if the file on disk was replaced since.
  auto binary = GoBinary::open(r.pid ? fmt::format("/proc/{}/exe", r.pid) : *path);
  if (!binary) {
    Error e = binary.error();
    if (r.pid) e.what = fmt::format("pid {} ({}): {}", r.pid, process_name(r.pid), e.what);
    return e;
  }
  // An untested Go version read through DWARF: say so once, before anything is recorded.
  if (!(*binary)->warning().empty()) fmt::print(stderr, "gorepro: warning: {}\n", (*binary)->warning());
  return binary;
}

Result<RecordResult> record(Backend& backend, const GoBinary& binary, const RecordRequest& request,
                            const RecordHooks& hooks) {
  if (auto st = validate(request); !st) return st.error();
  auto path = target_path(request);
  if (!path) return path.error();
  const bool attach = request.pid != 0;
  const BackendCaps caps = backend.caps();

  ProbeOptions probe_options = request.probes;
  // --schedtrace is there to hold gorepro's table against the runtime's, which tells running,
  // runnable, waiting and system call apart: observe every one of those changes.
  probe_options.probe_states = probe_options.probe_states || request.schedtrace_ms > 0;
  probe_options.probe_schedtrace = request.schedtrace_ms > 0;
  probe_options.probe_sched_reads = request.schedtrace_ms > 0 && request.scheddetail;
  const std::vector<const Probe*> probes = chosen_probes(binary, probe_options, caps);

  replay::TraceHeader header = trace_header(binary, *path, backend.name(), probes);
  if (attach) header.pid = request.pid; else header.argv = request.command;

  // Fail on an unwritable output before starting or stopping anything.
  const std::string program_name = std::filesystem::path(*path).filename().string();
  if (!request.output.empty()) {
    int fd = ::open(request.output.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      return make_error(fmt::format("cannot write the trace file {}: {}", request.output, std::strerror(errno)),
                        "choose another path with -o");
    }
    ::close(fd);
  } else if (access(".", W_OK) != 0) {
    return make_error("cannot write a trace in the current directory", "choose a path with -o FILE.gtr");
  }

  // Before anything starts: an address that cannot be served refuses the recording.
  std::unique_ptr<MetricsServer> metrics;
  if (!request.metrics_address.empty()) {
    auto server = MetricsServer::start(request.metrics_address);
    if (!server) return server.error();
    metrics = std::move(*server);
  }

  RecordResult result;
  result.launched = !attach;
  std::unique_ptr<RuntimeOutputCapture> capture;
  // Where the runtime's prints will go: a descriptor of their own when gorepro can point the
  // runtime's write at it, so the program's own stderr never passes through gorepro; else the
  // whole stderr goes through the pipe and the splitter.
  std::optional<uint64_t> fd_immediate;
  if (request.schedtrace_ms && caps.can_patch) fd_immediate = binary.runtime_output_fd_immediate();
  if (attach) {
    if (auto st = backend.attach(request.pid); !st) return st.error();
  } else {
    LaunchSpec spec{*path, request.command, {}};
    if (request.schedtrace_ms) {
      auto c = RuntimeOutputCapture::create({.forward_fd = 2, .show_blocks = request.show_schedtrace});
      if (!c) return c.error();
      capture = std::move(*c);
      spec.options.env = environment_with_schedtrace(request.schedtrace_ms, request.scheddetail);
      spec.options.fds.emplace_back(fd_immediate ? kRuntimeOutputFd : 2, capture->write_end());
    }
    if (!request.env_overrides.empty()) {
      spec.options.env = environment_with(spec.options.env.value_or(std::vector<std::string>{}), request.env_overrides);
    }
    spec.options.fds.insert(spec.options.fds.end(), request.fds.begin(), request.fds.end());
    spec.options.cpus = request.cpus;
    if (auto st = backend.launch(spec); !st) return st.error();
    if (capture) {
      if (fd_immediate) {
        const int fd = kRuntimeOutputFd;
        const uint8_t imm[4] = {static_cast<uint8_t>(fd & 0xff), static_cast<uint8_t>(fd >> 8), 0, 0};
        if (auto st = backend.patch(*fd_immediate + backend.load_bias(), imm); !st) {
          kill(backend.pid(), SIGKILL);  // it has not run a single instruction yet
          (void)backend.detach();
          return st.error();
        }
      }
      capture->start();
    }
  }
  RecordSignals::watch(&backend, attach ? 0 : backend.pid());
  struct Unwatch {
    ~Unwatch() { RecordSignals::watch(nullptr, 0); }
  } unwatch;
  result.pid = backend.pid();
  result.trace_path = request.output.empty() ? fmt::format("gorepro-{}-{}.gtr", program_name, backend.pid())
                                             : request.output;
  header.clock = replay::ClockBase::now();
  replay::TraceWriterOptions writer_options;
  writer_options.ring_window_ns = request.ring_window_ns;
  writer_options.ring_bytes = request.ring_bytes;
  result.ring = request.ring_window_ns || request.ring_bytes;
  DumpSignal dump_signal(result.ring);
  uint64_t dumps_done = g_dump_requests.load();
  auto writer = replay::TraceWriter::create(result.trace_path, header, writer_options);
  if (!writer) {
    if (!attach) kill(backend.pid(), SIGKILL);  // it has not run a single instruction yet
    (void)backend.detach();
    return writer.error();
  }
  // The runtime's own dump interval, stretched when dumps would take more than their share.
  std::optional<SchedPacer> pacer;
  if (capture && !request.schedtrace_fixed) {
    auto setting = binary.godebug_setting("schedtrace");
    pacer.emplace(backend.pid(), setting ? *setting + backend.load_bias() : 0, request.schedtrace_ms);
  }
  SchedFeed sched_feed(**writer, capture.get(), pacer ? &*pacer : nullptr);
  TraceSink trace_sink(**writer, sched_feed);
  CountingSink sink(trace_sink);
  // --until and --metrics: the same facts `check --fail-if` computes over a trace, fed as
  // events are recorded.
  // Only then is the binary's DWARF loaded (~150 ms): a launched program already runs under
  // --snapshot, whose first read would wait for it.
  std::optional<replay::TraceSymbols> facts_symbols;
  std::optional<replay::TraceFacts> facts;
  if (request.until || metrics) {
    facts_symbols.emplace(&binary.symbolizer());
    facts.emplace(*facts_symbols, header.wait_reasons);
    sink.feed(&*facts);
  }

  ArmSpec arm;
  arm.probes = probes;
  arm.stack_depth = request.stack_depth;
  arm.enumerate_preexisting = attach;
  arm.settle_reads = probe_options.probe_sched_reads;
  arm.verdicts = request.verdicts && caps.verdicts;
  auto armed = backend.arm(arm, sink);
  if (!armed) {
    if (!attach) kill(backend.pid(), SIGKILL);
    (void)backend.detach();
    (void)(*writer)->close();
    return armed.error();
  }
  result.preexisting = armed->preexisting;
  result.probes = armed->probes;

  const uint64_t deadline = request.duration_ns ? monotonic_ns() + *request.duration_ns : UINT64_MAX;
  const bool show_status = request.status_line && isatty(2);
  bool status_shown = false;
  ProgressMeter meter;
  (void)meter.next(sink, monotonic_ns());
  ProgressMeter metrics_meter;  // its own rate window: refreshes and status ticks differ
  uint64_t next_metrics = metrics ? monotonic_ns() : UINT64_MAX;
  uint64_t last_tick = monotonic_ns();
  auto stop_asked = [&] { return RecordSignals::stop_requested() || (hooks.stop && hooks.stop->load()); };
  uint64_t next_check = request.until ? monotonic_ns() : UINT64_MAX;
  uint64_t events_checked = UINT64_MAX;  // the events count at the last --until check

  // Ends the recording on our side: detach, then learn whether the program was exiting anyway.
  auto let_go = [&](RecordResult::How how, std::string message) {
    result.how = how;
    result.message = std::move(message);
    if (auto st = backend.detach(); !st) result.message += "; while detaching: " + st.error().message();
    // A target that was exiting when we stopped (e.g. its memory had just become unreadable)
    // has exited: report that, with its status, not our reason for stopping.
    if (auto exited = backend.target_exit(); exited && how != RecordResult::How::kSinkFailed) {
      result.how = RecordResult::How::kExited;
      result.message.clear();
      result.exit = *exited;
    }
  };

  while (true) {
    if (stop_asked()) {
      let_go(RecordResult::How::kStopped, "stopped on request");
      break;
    }
    const uint64_t until = std::min({last_tick + kTickNs, deadline, next_check, next_metrics});
    PollResult r = backend.poll(until);
    const uint64_t now = monotonic_ns();
    using K = PollResult::Kind;
    if (r.kind == K::kExited) {
      result.how = RecordResult::How::kExited;
      result.exit = TargetExit{r.exit_status, r.signal};
      break;
    }
    if (r.kind == K::kExec) {
      let_go(RecordResult::How::kExec, r.message);
      break;
    }
    if (r.kind == K::kSinkFailed) {
      let_go(RecordResult::How::kSinkFailed, r.message);
      break;
    }
    if (r.kind == K::kFailed) {
      let_go(RecordResult::How::kFailed, r.message);
      break;
    }
    if (r.kind == K::kStopRequested || stop_asked()) {
      let_go(RecordResult::How::kStopped, "stopped on request");
      break;
    }
    if (result.ring && g_dump_requests.load() != dumps_done) {
      dumps_done = g_dump_requests.load();
      const std::string to = dump_path(result.trace_path, static_cast<int>(result.dumps.size()) + 1);
      if (Status st = (*writer)->copy_to(to); !st) {
        fmt::print(stderr, "\r\x1b[Kgorepro: SIGUSR1: {}\n", st.error().message());
      } else {
        const replay::RingStats& w = (*writer)->ring_stats();
        fmt::print(stderr, "\r\x1b[Kgorepro: SIGUSR1: the last {:.1f} s ({} events) written to {}; recording goes on\n",
                   static_cast<double>(w.window_end_ns - w.window_start_ns) / 1e9, w.window_events, to);
        result.dumps.push_back(to);
      }
      status_shown = false;
    }
    if (now >= next_metrics) {
      next_metrics = now + kMetricsRefreshNs;
      metrics->publish(metrics_text(*facts, metrics_meter.next(sink, now), backend.stats(), (*writer)->bytes_written()));
    }
    if (now >= next_check) {
      next_check = now + kTriggerCheckNs;
      if (sink.events() != events_checked) {  // the facts change only with events
        events_checked = sink.events();
        if (request.until->eval(*facts)) {
          result.trigger_ns = now - header.clock.monotonic_ns;
          result.trigger_explained = request.until->explain(*facts);
          let_go(RecordResult::How::kTrigger,
                 fmt::format("--until '{}' held at {:.6f}s into the recording: {}", request.until->text(),
                             static_cast<double>(result.trigger_ns) / 1e9, result.trigger_explained));
          // Now, not at the end: a launched program runs on after the detach, maybe for long.
          if (result.how == RecordResult::How::kTrigger) {
            if (status_shown) fmt::print(stderr, "\r\x1b[K");
            status_shown = false;
            fmt::print(stderr, "gorepro: {}; recording ended, the program runs on{}\n", result.message,
                       attach ? "" : " (gorepro waits for its exit)");
          }
          break;
        }
      }
    }
    if (now >= deadline) {
      let_go(RecordResult::How::kDuration, "duration reached");
      break;
    }
    if (now - last_tick >= kTickNs) {
      if (auto st = sink.tick(now); !st) {
        let_go(RecordResult::How::kSinkFailed, st.error().message());
        break;
      }
      RecordProgress p = meter.next(sink, now);
      if (hooks.progress) hooks.progress(p);
      if (show_status) {
        std::string top = p.top_rate > 0 ? fmt::format(", fastest: {} +{:.0f}/s", site_of(binary, p.top_gopc), p.top_rate)
                                         : "";
        fmt::print(stderr, "\r\x1b[Kgorepro: {} events ({:.0f}/s), {} live goroutines{}", p.events, p.events_per_s,
                   p.live, top);
        std::fflush(stderr);
        status_shown = true;
      }
      last_tick = now;
    }
  }
  if (status_shown) fmt::print(stderr, "\r\x1b[K");
  result.stats = backend.stats();
  if (sink.verdicts()) {
    result.verdicts.emplace();
    result.verdicts->leaked = sink.verdicts()->count(replay::Verdict::kLeaked);
    result.verdicts->time_io = sink.verdicts()->count(replay::Verdict::kTimeIo);
    result.verdicts->may_wake = sink.verdicts()->count(replay::Verdict::kMayWake);
    result.verdicts->scan_ns = sink.verdicts()->scan_ns;
    result.verdicts->bytes_scanned = sink.verdicts()->bytes_scanned;
  }
  result.verdict_error = backend.verdict_error();

  const bool exited = result.how == RecordResult::How::kExited;
  // Detached from a program that runs on: its dumps go back to the interval it was launched with.
  if (pacer && !exited) pacer->restore();
  // The program is gone: its last blocks are in the pipe (a child of it may hold the pipe open,
  // hence the bound). Still running (detached): take what has arrived; the rest is forwarded.
  if (capture && exited) capture->finish(300'000'000);
  if (Status drained = sched_feed.drain_all(); !drained) result.sched_error = drained.error().message();
  Status closed = (*writer)->close();
  result.trace_closed = closed.ok();
  if (!closed) result.close_error = closed.error().message();
  result.events_written = (*writer)->events_written();
  if (result.ring) result.window = (*writer)->ring_stats();
  if (capture) {
    result.schedtrace = true;
    result.sched_samples = sched_feed.appended();
    result.sched_interleaved = capture->blocks_skipped();
    result.sched_cut_short = capture->blocks_cut_short() || (exited && sched_feed.ended_mid_dump());
    result.sched_whole_stderr = !fd_immediate;
    if (pacer) {
      result.sched_asked_ms = pacer->asked_ms();
      result.sched_paced_max_ms = pacer->max_ms();
      result.sched_pace_changes = pacer->changes();
      result.sched_longest_dump_ns = pacer->longest_dump_ns();
      result.sched_pace_off = pacer->off_reason();
    }
  }

  // Detached early from a launched program: it runs on, and its status is ours, as if it had
  // been launched without gorepro.
  if (!attach && !result.exit) {
    int status = 0;
    pid_t got;
    while ((got = waitpid(backend.pid(), &status, 0)) < 0 && errno == EINTR) {
    }
    if (capture) capture->finish(300'000'000);
    if (got == backend.pid()) {
      result.exit = WIFEXITED(status) ? TargetExit{WEXITSTATUS(status), 0}
                                      : TargetExit{128 + WTERMSIG(status), WTERMSIG(status)};
    }
  }
  return result;
}

}  // namespace gorepro::tracer
