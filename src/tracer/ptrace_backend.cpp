#include "tracer/ptrace_backend.h"

#include <signal.h>
#include <sys/time.h>

#include <algorithm>

#include <fmt/format.h>

#include "tracer/verdict_scan.h"

namespace gorepro::tracer {

namespace {

constexpr uint64_t kTickNs = kPollLatenessNs;  // how often a blocking wait wakes up at the latest

void on_alarm(int) {}

}  // namespace

// Wakes the blocking waitpid() regularly (SIGALRM without SA_RESTART), so poll() returns at
// its deadline even when the program is quiet. Restores the previous state on destruction.
class PtraceBackend::TickTimer {
 public:
  TickTimer() {
    struct sigaction sa = {};
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, &old_action_);
    itimerval it = {};
    it.it_interval.tv_usec = kTickNs / 1000;
    it.it_value = it.it_interval;
    setitimer(ITIMER_REAL, &it, &old_timer_);
  }
  ~TickTimer() {
    setitimer(ITIMER_REAL, &old_timer_, nullptr);
    sigaction(SIGALRM, &old_action_, nullptr);
  }
  // Wakes the wait in `ns` (> 0), then every millisecond until set back with 0 (the regular
  // tick): a held thread's time may come while no other stop arrives. A wake that lands just
  // before the wait begins costs at most one more millisecond.
  void wake_in(uint64_t ns) {
    itimerval it = {};
    const uint64_t interval_us = ns ? 1000 : kTickNs / 1000;
    const uint64_t first_us = ns ? std::max<uint64_t>(ns / 1000, 1) : interval_us;
    it.it_interval.tv_sec = static_cast<time_t>(interval_us / 1'000'000);
    it.it_interval.tv_usec = static_cast<suseconds_t>(interval_us % 1'000'000);
    it.it_value.tv_sec = static_cast<time_t>(first_us / 1'000'000);
    it.it_value.tv_usec = static_cast<suseconds_t>(first_us % 1'000'000);
    setitimer(ITIMER_REAL, &it, nullptr);
  }

 private:
  struct sigaction old_action_ = {};
  itimerval old_timer_ = {};
};

PtraceBackend::PtraceBackend(const GoBinary& binary) : binary_(binary) {}

PtraceBackend::~PtraceBackend() {
  verdicts_wanted_ = false;  // the sink may be gone already
  (void)detach();
}

Status PtraceBackend::launch(const LaunchSpec& spec) {
  GOREPRO_CHECK(!tracee_, "launch after launch or attach");
  auto t = Tracee::launch(spec.path, spec.argv, spec.options);
  if (!t) return t.error();
  tracee_ = std::move(*t);
  return Ok{};
}

Status PtraceBackend::attach(pid_t pid) {
  GOREPRO_CHECK(!tracee_, "attach after launch or attach");
  auto t = Tracee::attach(pid, guard_);
  if (!t) return t.error();
  tracee_ = std::move(*t);
  return Ok{};
}

uint64_t PtraceBackend::load_bias() const {
  if (!tracee_ || !tracee_->entry_address()) return 0;
  return tracee_->entry_address() - binary_.elf().entry();
}

Status PtraceBackend::patch(uint64_t address, std::span<const uint8_t> bytes) {
  GOREPRO_CHECK(tracee_ && !decoder_, "patch before launch or after arm");
  return tracee_->patch(address, std::vector<uint8_t>(bytes.begin(), bytes.end()));
}

Result<ArmResult> PtraceBackend::arm(const ArmSpec& spec, EventSink& sink) {
  GOREPRO_CHECK(tracee_ && !decoder_, "arm before launch/attach or twice");
  hold_sink_ = std::make_unique<HoldSink>(sink, hold_when_);
  auto decoder = EventDecoder::make(binary_, *tracee_, load_bias(), *hold_sink_, spec.stack_depth);
  if (!decoder) {
    (void)tracee_->detach();
    return decoder.error();
  }
  decoder_.emplace(std::move(*decoder));
  decoder_->set_settle_reads(spec.settle_reads);
  ArmResult result;
  if (spec.enumerate_preexisting) {
    auto n = decoder_->snapshot_goroutines(monotonic_ns());
    if (!n) {
      (void)tracee_->detach();
      return n.error();
    }
    result.preexisting = *n;
  }
  const uint64_t bias = load_bias();
  for (const Probe* p : spec.probes) {
    auto role = probe_role(p->role);
    GOREPRO_CHECK(role.has_value(), "probe role without a decoder");
    for (uint64_t addr : p->addresses) {
      if (auto st = tracee_->insert_breakpoint(addr + bias, static_cast<int>(roles_.size())); !st) {
        (void)tracee_->detach();  // restores the breakpoints inserted so far
        return st.error();
      }
      roles_.push_back(*role);
      past_stack_check_.push_back(p->past_stack_check);
      if (*role == ProbeRole::kSchedG) sched_g_sites_.push_back(addr + bias);
    }
    result.probes.push_back(fmt::format("{}:{}", p->role, p->function.name));
  }
  if (spec.verdicts) {
    if (auto st = tracee_->stop_at_exit(); !st) {
      (void)tracee_->detach();
      return st.error();
    }
    verdicts_wanted_ = true;
  }
  if (spec.start_held) {
    holding_ = true;  // every thread is still stopped from launch/attach
    return result;
  }
  timer_ = std::make_unique<TickTimer>();
  tracee_->resume_all();
  return result;
}

Status PtraceBackend::decode(const Stop& s, uint64_t now) {
  const auto id = static_cast<size_t>(s.id);
  if (past_stack_check_[id] && tracee_->breakpoint_branches(s)) return Ok{};
  Status st = decoder_->on_hit(roles_[id], static_cast<uint32_t>(s.tid), s.regs, now);
  // Only the thread printing a dump runs the read site, and it is stopped here (at a read or at
  // the dump's begin): lifting or replacing the int3 now races with nobody.
  if (!sched_g_sites_.empty() && decoder_->sched_reads_wanted() != sched_g_armed_) {
    sched_g_armed_ = !sched_g_armed_;
    for (uint64_t a : sched_g_sites_) {
      if (Status armed = tracee_->set_breakpoint_armed(a, sched_g_armed_); !armed && st) st = armed;
    }
  }
  return st;
}

Status PtraceBackend::release_deferred(uint64_t now, bool all) {
  uint64_t next = UINT64_MAX;
  Status result = Ok{};
  std::erase_if(deferred_, [&](const Deferred& d) {
    if (!all && d.until_ns > now && !(perturber_ && perturber_->hold_over(d.hold))) {
      next = std::min(next, d.until_ns);
      return false;
    }
    if (Status st = tracee_->resume_from_breakpoint(d.stop); !st && result) result = st;
    return true;
  });
  if (timer_) timer_->wake_in(next == UINT64_MAX ? 0 : next - now);
  return result;
}

PollResult PtraceBackend::hold(std::optional<Stop> holding) {
  PollResult r;
  if (Status st = release_deferred(0, true); !st) {
    r.kind = PollResult::Kind::kFailed;
    r.message = "cannot resume the target: " + st.error().message();
    return r;
  }
  hold_requested_.store(false, std::memory_order_relaxed);
  timer_.reset();  // no SIGALRM while a person reads the prompt
  auto others = tracee_->stop_all();
  if (!others) {
    if (auto exited = target_exit()) {
      r.kind = PollResult::Kind::kExited;
      r.exit_status = exited->exit_status;
      r.signal = exited->signal;
    } else {
      r.kind = PollResult::Kind::kFailed;
      r.message = others.error().message();
    }
    return r;
  }
  held_.clear();
  if (holding) held_.push_back(*holding);
  r.held_at = hold_sink_->matched;
  // Hits other threads made while we stopped them happened before the hold: decode them now,
  // so the events up to the hold are all there; their threads wait on their breakpoints.
  const uint64_t now = monotonic_ns();
  for (const Stop& s : *others) {
    if (Status st = decode(s, now); !st) {
      r.kind = PollResult::Kind::kSinkFailed;
      r.message = st.error().message();
      return r;
    }
    held_.push_back(s);
  }
  hold_sink_->matched.reset();
  holding_ = true;
  r.kind = PollResult::Kind::kHeld;
  return r;
}

Status PtraceBackend::resume() {
  GOREPRO_CHECK(holding_, "resume without a hold");
  holding_ = false;
  for (const Stop& s : held_) {
    if (Status st = tracee_->resume_from_breakpoint(s); !st) return st;
  }
  held_.clear();
  timer_ = std::make_unique<TickTimer>();
  tracee_->resume_all();
  return Ok{};
}

Status PtraceBackend::kill() {
  if (!tracee_ || !tracee_->alive()) return Ok{};
  timer_.reset();
  holding_ = false;
  held_.clear();
  (void)tracee_->kill_and_wait();
  return Ok{};
}

PollResult PtraceBackend::poll(uint64_t until_ns) {
  GOREPRO_CHECK(decoder_.has_value(), "poll before arm");
  GOREPRO_CHECK(!holding_, "poll while the program is held: resume() first");
  PollResult r;
  while (true) {
    if (stop_.load(std::memory_order_relaxed)) {
      r.kind = PollResult::Kind::kStopRequested;
      return r;
    }
    if (hold_requested_.load(std::memory_order_relaxed)) return hold(std::nullopt);
    if (!deferred_.empty()) {
      if (Status st = release_deferred(monotonic_ns(), false); !st) {
        r.kind = PollResult::Kind::kFailed;
        r.message = "cannot resume the target: " + st.error().message();
        return r;
      }
    }
    Stop s = tracee_->wait();
    const uint64_t now = monotonic_ns();
    if (s.kind == Stop::Kind::kBreakpoint) {
      hold_sink_->last.reset();
      Status st = decode(s, now);
      if (st && hold_sink_->matched) return hold(s);
      const uint64_t delay = st && perturber_ && hold_sink_->last ? perturber_->hold_ns(*hold_sink_->last) : 0;
      if (delay) {
        const bool first = deferred_.empty();
        deferred_.push_back({s, now + delay, holds_granted_++});
        if (first && timer_) timer_->wake_in(delay);
        if (now >= until_ns) return r;
        continue;
      }
      if (Status resumed = tracee_->resume_from_breakpoint(s); !resumed) {
        r.kind = PollResult::Kind::kFailed;
        r.message = "cannot resume the target: " + resumed.error().message();
        return r;
      }
      if (!st) {
        r.kind = PollResult::Kind::kSinkFailed;
        r.message = st.error().message();
        return r;
      }
    } else if (s.kind == Stop::Kind::kExited) {
      deferred_.clear();
      r.kind = PollResult::Kind::kExited;
      r.exit_status = s.exit_status;
      r.signal = s.signal;
      return r;
    } else if (s.kind == Stop::Kind::kExiting) {
      if (verdicts_wanted_) take_verdicts(&s);
      tracee_->resume_exiting(s.tid);
    } else if (s.kind == Stop::Kind::kExec) {
      r.kind = PollResult::Kind::kExec;
      r.message = "the program called exec; the new program image is not traced, recording ends";
      return r;
    }
    if (now >= until_ns) return r;  // kTimeout
  }
}

void PtraceBackend::take_verdicts(const Stop* exiting) {
  verdicts_wanted_ = false;
  auto v = scan_now(exiting);
  if (!v) {
    verdict_error_ = v.error().message();
    return;
  }
  if (Status st = hold_sink_->verdicts_taken(*v); !st) verdict_error_ = st.error().message();
}

Result<replay::LeakVerdicts> PtraceBackend::scan_now(const Stop* exiting) {
  std::vector<std::pair<pid_t, Registers>> threads;
  if (exiting) {
    // Every thread's, the exiting one's included (Tracee keeps it with the others').
    threads.assign(tracee_->exit_registers().begin(), tracee_->exit_registers().end());
  } else {
    threads = tracee_->stopped_registers();
  }
  // Batched reads (Tracee reads one range per call); at the exit, through the exiting thread,
  // whose mm still holds the address space when the leader's is gone.
  ProcessMemory memory(exiting ? exiting->tid : tracee_->pid());
  return scan_stopped(binary_, memory, load_bias(), threads);
}

Result<replay::LeakVerdicts> PtraceBackend::verdicts_now() {
  GOREPRO_CHECK(holding_ && tracee_, "verdicts_now while the program runs");
  return scan_now(nullptr);
}

Status PtraceBackend::detach() {
  // The end of a recording that did not see the program exit: the verdicts of this instant,
  // with every thread stopped (hits caught meanwhile are decoded first, as for a hold).
  if (verdicts_wanted_ && tracee_ && tracee_->alive() && decoder_ && !holding_) {
    (void)release_deferred(0, true);
    if (auto hits = tracee_->stop_all()) {
      const uint64_t now = monotonic_ns();
      for (const Stop& s : *hits) (void)decode(s, now);
      take_verdicts(nullptr);
    }
    verdicts_wanted_ = false;
  }
  timer_.reset();
  holding_ = false;
  held_.clear();
  deferred_.clear();  // like held_: Tracee::detach moves collected, unresumed threads on  // their threads were moved off their int3s when their stops were collected
  if (!tracee_) return Ok{};
  return tracee_->detach();
}

std::optional<TargetExit> PtraceBackend::target_exit() const {
  if (!tracee_ || !tracee_->exit_stop()) return std::nullopt;
  return TargetExit{tracee_->exit_stop()->exit_status, tracee_->exit_stop()->signal};
}

BackendStats PtraceBackend::stats() const {
  BackendStats s = decoder_ ? stats_of(decoder_->stats()) : BackendStats{};
  if (tracee_) s.unemulated_steps = tracee_->unemulated_steps();
  return s;
}

}  // namespace gorepro::tracer
