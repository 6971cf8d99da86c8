#include "bpf/ebpf_backend.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include <bpf/libbpf.h>
#include <fmt/format.h>

#include "bpf/preexisting.h"

namespace gorepro::bpf {

namespace {

constexpr int kMaxWaitMs = 50;  // longest wait in the ring; bounds how late poll() sees a stop

int open_pidfd(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

tracer::PollResult ended(tracer::PollResult::Kind kind, std::string message = {}) {
  tracer::PollResult r;
  r.kind = kind;
  r.message = std::move(message);
  return r;
}

}  // namespace

EbpfBackend::EbpfBackend(const GoBinary& binary, EbpfOptions options) : binary_(binary), options_(options) {}

EbpfBackend::~EbpfBackend() {
  (void)detach();
  if (pidfd_ >= 0) close(pidfd_);
}

Status EbpfBackend::launch(const tracer::LaunchSpec& spec) {
  GOREPRO_CHECK(pid_ == 0, "launch after launch or attach");
  // Stopped right after exec, before the program's first instruction: the uprobes go in
  // before anything runs, and ptrace lets go in arm().
  auto t = tracer::Tracee::launch(spec.path, spec.argv, spec.options);
  if (!t) return t.error();
  launched_ = std::move(*t);
  is_launched_ = true;
  pid_ = launched_->pid();
  bias_ = launched_->entry_address() ? launched_->entry_address() - binary_.elf().entry() : 0;
  return Ok{};
}

Status EbpfBackend::attach(pid_t pid) {
  GOREPRO_CHECK(pid_ == 0, "attach after launch or attach");
  if (kill(pid, 0) != 0 && errno == ESRCH) {
    return make_error(fmt::format("no process with pid {}", pid), "check the pid with `ps` or `pgrep`");
  }
  auto bias = load_bias_of(pid, binary_.elf().entry());
  if (!bias) return bias.error();
  pidfd_ = open_pidfd(pid);
  if (pidfd_ < 0) {
    return make_error(fmt::format("cannot watch pid {}: {}", pid, std::strerror(errno)),
                      "run gorepro as root or as the process's user");
  }
  pid_ = pid;
  bias_ = *bias;
  return Ok{};
}

Result<tracer::ArmResult> EbpfBackend::arm(const tracer::ArmSpec& spec, tracer::EventSink& sink) {
  GOREPRO_CHECK(pid_ != 0 && !program_, "arm before launch/attach or twice");
  auto fail = [&](Error e) -> Result<tracer::ArmResult> {
    (void)detach();
    return e;
  };
  auto program = ProbeProgram::load(binary_, spec.probes, {.stack_depth = spec.stack_depth, .ring_bytes = options_.ring_bytes});
  if (!program) return fail(program.error());
  program_ = std::move(*program);
  decoder_.emplace(binary_.probe("park") ? binary_.probe("park")->function.entry : 0, spec.stack_depth);
  decoder_->set_bias(pid_, bias_);
  sink_ = &sink;
  if (auto st = program_->track(pid_); !st) return fail(st.error());

  tracer::ArmResult result;
  const uint64_t t0 = tracer::monotonic_ns();
  // /proc/PID/exe names the very inode the process runs, even if the file was replaced since.
  if (auto st = program_->attach(fmt::format("/proc/{}/exe", pid_), pid_); !st) return fail(st.error());
  for (const Probe* p : spec.probes) result.probes.push_back(fmt::format("{}:{}", p->role, p->function.name));
  delivery_.last_time_ns = t0;
  if (spec.enumerate_preexisting) {
    auto n = enumerate_preexisting(sink, spec.stack_depth, t0);
    if (!n) return fail(n.error());
    result.preexisting = *n;
  }
  if (launched_) {
    if (auto st = launched_->detach(); !st) return fail(st.error());
    launched_.reset();
  }
  return result;
}

Result<size_t> EbpfBackend::enumerate_preexisting(tracer::EventSink& sink, int stack_depth, uint64_t t0) {
  auto held = read_preexisting(binary_, pid_, bias_, stack_depth, t0, sink);
  if (!held) return held.error();
  if (auto drained = program_->drain(*this); !drained) return drained.error();
  reconcile(*held, batch_, pid_);
  for (const replay::Event& e : *held) {
    if (auto st = sink.emit(e); !st) return st.error();
    delivery_.events++;
  }
  // An exec seen here ends the recording at the first poll (the tracked flag stays set).
  if (auto r = deliver_batch(); r && r->kind == tracer::PollResult::Kind::kSinkFailed) return make_error(r->message, "");
  return held->size();
}

void EbpfBackend::on_record(const gr_record& r) { decoder_->decode(r, batch_); }

std::optional<tracer::PollResult> EbpfBackend::deliver_batch() {
  using K = tracer::PollResult::Kind;
  auto exec = std::find_if(batch_.items.begin(), batch_.items.end(),
                           [&](const Decoded& d) { return d.kind == Decoded::Kind::kExec && d.pid == pid_; });
  const bool execed = exec != batch_.items.end();
  Status st = deliver(batch_, 0, static_cast<size_t>(exec - batch_.items.begin()), pid_, *sink_, delivery_);
  batch_.clear();
  if (st) st = report_losses();
  if (!st) return ended(K::kSinkFailed, st.error().message());
  if (execed) {
    return ended(K::kExec, "the program called exec; the new program image is not traced, recording ends");
  }
  return std::nullopt;
}

Status EbpfBackend::report_losses() {
  const uint64_t lost = program_->counters().lost;
  if (lost == lost_reported_) return Ok{};
  replay::LostEvents l;
  l.time_ns = std::max(tracer::monotonic_ns(), delivery_.last_time_ns);
  l.count = lost - lost_reported_;
  lost_reported_ = lost;
  uint64_t named = 0;
  for (const LostGoroutine& g : program_->take_lost()) {
    if (g.tgid != pid_ || g.goid == 0) continue;
    l.goids.push_back(g.goid);
    named += g.records;
  }
  std::sort(l.goids.begin(), l.goids.end());
  l.goids.erase(std::unique(l.goids.begin(), l.goids.end()), l.goids.end());
  l.unattributed = named >= l.count ? 0 : l.count - named;
  return sink_->events_lost(l);
}

std::optional<tracer::PollResult> EbpfBackend::pump(int timeout_ms) {
  if (timeout_ms > 0) {
    pollfd fds[2] = {{program_->wait_fd(), POLLIN, 0}, {pidfd_, POLLIN, 0}};
    (void)::poll(fds, pidfd_ >= 0 ? 2 : 1, timeout_ms);  // EINTR: a signal to gorepro; look again
  }
  auto n = program_->drain(*this);
  if (!n) return ended(tracer::PollResult::Kind::kFailed, n.error().message());
  return deliver_batch();
}

bool EbpfBackend::exited() {
  if (exit_) return true;
  if (is_launched_) {
    int status = 0;
    pid_t got = waitpid(pid_, &status, WNOHANG);
    if (got != pid_) return false;
    exit_ = WIFEXITED(status) ? tracer::TargetExit{WEXITSTATUS(status), 0}
                              : tracer::TargetExit{128 + WTERMSIG(status), WTERMSIG(status)};
    return true;
  }
  pollfd p{pidfd_, POLLIN, 0};
  if (pidfd_ < 0 || ::poll(&p, 1, 0) != 1) return false;
  exit_ = tracer::TargetExit{0, 0};  // not our child: its status is its parent's to read
  return true;
}

tracer::PollResult EbpfBackend::poll(uint64_t until_ns) {
  GOREPRO_CHECK(program_ != nullptr, "poll before arm");
  using K = tracer::PollResult::Kind;
  while (true) {
    if (stop_.load(std::memory_order_relaxed)) return ended(K::kStopRequested);
    const uint64_t now = tracer::monotonic_ns();
    if (now >= until_ns) return ended(K::kTimeout);
    // Exit first, then the ring: every record of an exited program is already in it.
    const bool gone = exited();
    const int wait_ms = gone ? 0 : static_cast<int>(std::min<uint64_t>((until_ns - now) / 1'000'000 + 1, kMaxWaitMs));
    if (auto r = pump(wait_ms)) return *r;
    if (gone) {
      tracer::PollResult r = ended(K::kExited);
      r.exit_status = exit_->exit_status;
      r.signal = exit_->signal;
      return r;
    }
  }
}

Status EbpfBackend::detach() {
  if (detached_) return Ok{};
  detached_ = true;
  Status st = Ok{};
  // Launched and never armed: still held by ptrace, before its first instruction.
  if (launched_) st = launched_->detach();
  launched_.reset();
  // Removes every uprobe (and the object); the program runs on unprobed.
  if (program_) final_counters_ = program_->counters();
  program_.reset();
  return st;
}

tracer::BackendStats EbpfBackend::stats() const {
  const ProbeCounters c = program_ ? program_->counters() : final_counters_;
  tracer::BackendStats s;
  s.hits = c.hits;
  s.read_failures = c.read_failures;
  s.lost = c.lost;
  s.events = delivery_.events;
  return s;
}

}  // namespace gorepro::bpf
