#include "tracer/ptrace_backend.h"

#include <signal.h>
#include <sys/time.h>
#include <time.h>

#include <unordered_map>

#include <fmt/format.h>

namespace gorepro::tracer {

namespace {

constexpr uint64_t kTickNs = 200'000'000;  // progress + flush cadence

volatile sig_atomic_t g_tick = 0;
void on_alarm(int) { g_tick = 1; }

// Wakes the blocking waitpid() regularly (SIGALRM without SA_RESTART), so quiet periods still
// flush, report progress and notice the deadline. Restores the previous state on destruction.
class TickTimer {
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

 private:
  struct sigaction old_action_ = {};
  itimerval old_timer_ = {};
};

}  // namespace

uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

std::vector<const Probe*> chosen_probes(const GoBinary& binary, const RecordOptions& options) {
  std::vector<const Probe*> out;
  for (const Probe& p : binary.probes()) {
    const bool state_probe = p.role == "preempt" || p.role == "yield" || p.role.rfind("syscall", 0) == 0;
    const bool execute = options.probe_execute || options.probe_states;
    if (p.role == "execute" && !execute) continue;
    // netpoll's RET stands in for execute for the one goroutine findRunnable runs straight
    // from netpoll's list, and fires well before that goroutine's status changes (findRunnable
    // may first wait for sched.lock): with execute probed it is redundant, and early.
    if (p.role == "netpoll" && execute) continue;
    // unpark is one of execute's call sites: with execute probed it would record that run twice.
    if (p.role == "unpark" && execute) continue;
    if (state_probe && !options.probe_states) continue;
    if ((p.role == "sched_begin" || p.role == "sched_end") && !options.probe_schedtrace) continue;
    if (p.role == "sched_g" && !options.probe_sched_reads) continue;
    out.push_back(&p);
  }
  return out;
}

Result<RecordOutcome> PtraceBackend::record(const GoBinary& binary, Tracee& tracee, EventSink& sink,
                                            const RecordOptions& options, const RecordControl& control) {
  auto decoder = EventDecoder::make(binary, tracee, sink, options.stack_depth);
  if (!decoder) return decoder.error();
  decoder->set_settle_reads(options.probe_sched_reads);
  RecordOutcome outcome;

  if (options.attached) {
    auto n = decoder->snapshot_goroutines(monotonic_ns());
    if (!n) {
      (void)tracee.detach();
      return n.error();
    }
    outcome.preexisting = *n;
  }

  // Breakpoint ids index these tables: the role, and whether the site is a stack-check jump
  // (a hit that jumps to morestack is not a call yet: the function starts over later).
  std::vector<ProbeRole> roles;
  std::vector<bool> past_stack_check;
  const uint64_t bias = tracee.entry_address() ? tracee.entry_address() - binary.elf().entry() : 0;
  for (const Probe* p : chosen_probes(binary, options)) {
    auto role = probe_role(p->role);
    GOREPRO_CHECK(role.has_value(), "probe role without a decoder");
    for (uint64_t addr : p->addresses) {
      if (auto st = tracee.insert_breakpoint(addr + bias, static_cast<int>(roles.size())); !st) {
        (void)tracee.detach();  // restores the breakpoints inserted so far
        return st.error();
      }
      roles.push_back(*role);
      past_stack_check.push_back(p->past_stack_check);
    }
    outcome.probes.push_back(fmt::format("{}:{}", p->role, p->function.name));
  }

  TickTimer timer;
  tracee.resume_all();
  uint64_t last_tick = monotonic_ns(), last_events = 0;
  std::unordered_map<uint64_t, uint64_t> creates_at_last_tick;  // gopc -> count, for the status line

  auto finish = [&](RecordOutcome::How how, std::string msg) {
    if (auto st = tracee.detach(); !st) msg += "; while detaching: " + st.error().message();
    outcome.how = how;
    outcome.message = std::move(msg);
    // A target that was exiting when we stopped (e.g. its memory had just become unreadable)
    // has exited: report that, with its status, not our reason for stopping.
    if (const auto& exited = tracee.exit_stop(); exited && how != RecordOutcome::How::kSinkFailed) {
      outcome.how = RecordOutcome::How::kExited;
      outcome.exit_status = exited->exit_status;
      outcome.signal = exited->signal;
      outcome.message.clear();
    }
  };

  while (true) {
    Stop s = tracee.wait();
    uint64_t now = monotonic_ns();
    if (s.kind == Stop::Kind::kBreakpoint) {
      const auto id = static_cast<size_t>(s.id);
      Status st = Ok{};
      if (!past_stack_check[id] || !tracee.breakpoint_branches(s)) st = decoder->on_hit(roles[id], s, now);
      if (Status resumed = tracee.resume_from_breakpoint(s); !resumed) {
        finish(RecordOutcome::How::kStopped, "cannot resume the target: " + resumed.error().message());
        break;
      }
      if (!st) {
        finish(RecordOutcome::How::kSinkFailed, st.error().message());
        break;
      }
    } else if (s.kind == Stop::Kind::kExited) {
      outcome.how = RecordOutcome::How::kExited;
      outcome.exit_status = s.exit_status;
      outcome.signal = s.signal;
      break;
    } else if (s.kind == Stop::Kind::kExec) {
      finish(RecordOutcome::How::kExec, "the program called exec; the new program image is not traced, recording ends");
      break;
    }
    if (control.stop && control.stop->load()) {
      finish(RecordOutcome::How::kStopped, "stopped on request");
      break;
    }
    if (control.deadline_ns && now >= *control.deadline_ns) {
      finish(RecordOutcome::How::kStopped, "duration reached");
      break;
    }
    g_tick = 0;  // SIGALRM only wakes the wait; elapsed time decides whether to tick
    if (now - last_tick >= kTickNs) {
      if (auto st = sink.tick(now); !st) {
        finish(RecordOutcome::How::kSinkFailed, st.error().message());
        break;
      }
      if (control.progress && now > last_tick) {
        RecordProgress p;
        p.events = decoder->stats().events;
        double secs = static_cast<double>(now - last_tick) / 1e9;
        p.events_per_s = static_cast<double>(p.events - last_events) / secs;
        p.live = decoder->live();
        uint64_t best = 0;
        for (const auto& [gopc, count] : decoder->creates_by_gopc()) {
          uint64_t delta = count - creates_at_last_tick[gopc];
          if (delta > best) {
            best = delta;
            p.top_gopc = gopc;
          }
        }
        p.top_rate = static_cast<double>(best) / secs;
        creates_at_last_tick = decoder->creates_by_gopc();
        control.progress(p);
        last_events = p.events;
      }
      last_tick = now;
    }
  }
  outcome.stats = decoder->stats();
  outcome.unemulated_steps = tracee.unemulated_steps();
  return outcome;
}

}  // namespace gorepro::tracer
