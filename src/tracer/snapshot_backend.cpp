#include "tracer/snapshot_backend.h"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unordered_set>

#include <fmt/format.h>

#include "tracer/spawn.h"
#include "tracer/tracee.h"  // entry_address_of

namespace gorepro::tracer {

namespace {

using replay::Event;
using replay::GoState;

constexpr uint64_t kMaxWaitNs = 50'000'000;  // longest sleep in poll(): bounds how late a stop is seen
constexpr int kMaxFailedReads = 5;           // unreadable snapshots in a row before the recording fails

PollResult ended(PollResult::Kind kind, std::string message = {}) {
  PollResult r;
  r.kind = kind;
  r.message = std::move(message);
  return r;
}

}  // namespace

Status SnapshotDiff::baseline(const GoroutineList& list, uint64_t t, EventDecoder& decoder) {
  generation_++;
  for (const GoroutineSample& s : list.live) {
    known_[s.goid] = Known{s.state, s.wait_reason, s.sched_pc, generation_, s.labels};
  }
  return decoder.emit_preexisting(list, t);
}

Status SnapshotDiff::emit(const Event& e, const GoroutineSample& s, Known& k, EventDecoder& decoder,
                          EventSink& sink) {
  replay::Labels labels;
  if (s.labels == k.labels || !decoder.read_labels(s.labels, labels)) return sink.emit(e);
  k.labels = s.labels;
  return sink.emit_labeled(e, labels);
}

Status SnapshotDiff::transition(const GoroutineSample& s, Known& k, uint64_t t, EventDecoder& decoder,
                                EventSink& sink) {
  // A status caught mid-change (_Gcopystack and the like) says nothing: keep the last one.
  if (s.state == GoState::Unknown) return Ok{};
  const bool was_waiting = k.state == GoState::Waiting;
  if (s.state == k.state && (!was_waiting || (k.wait_reason == s.wait_reason && k.sched_pc == s.sched_pc))) {
    return Ok{};
  }
  k.state = s.state, k.wait_reason = s.wait_reason, k.sched_pc = s.sched_pc;
  // No longer waiting, or waiting somewhere else than last time: it woke in between.
  if (was_waiting) {
    if (auto st = sink.emit(Event::ready(t, 0, s.goid, 0)); !st) return st;
  }
  switch (s.state) {
    case GoState::Waiting:
      return emit(Event::park(t, 0, s.goid, s.wait_reason, 0, decoder.saved_stack(s)), s, k, decoder, sink);
    case GoState::Runnable:
      if (was_waiting) return Ok{};  // the ready said it
      [[fallthrough]];
    default:
      return emit(Event::state_change(t, 0, s.goid, s.state), s, k, decoder, sink);
  }
}

Status SnapshotDiff::next(const GoroutineList& list, uint64_t t, EventDecoder& decoder, EventSink& sink) {
  generation_++;
  std::unordered_set<uint64_t>& now = now_;  // kept: its buckets are reused every read
  now.clear();
  for (const GoroutineSample& s : list.live) now.insert(s.goid);
  // Creates first, while every parent still alive is in the table: the create names it.
  // A parent that is gone (it exited since the last read) is not named: the table would bring
  // it back to life. A parent ran to create: one seen waiting is woken first, and the pass
  // below takes it from running to where it is now.
  for (const GoroutineSample& s : list.live) {
    if (known_.count(s.goid)) continue;
    uint64_t parent = 0;
    if (auto p = known_.find(s.parent); s.parent && p != known_.end() && now.count(s.parent)) {
      parent = s.parent;
      if (p->second.state == GoState::Waiting) {
        if (auto st = sink.emit(Event::ready(t, 0, parent, 0)); !st) return st;
      }
      p->second = Known{GoState::Running, 0, 0, p->second.generation, p->second.labels};
    }
    const uint64_t creation[1] = {s.gopc};
    Known& k = known_[s.goid] = Known{GoState::Runnable, 0, 0, 0};
    if (auto st = emit(Event::create(t, 0, parent, s.goid, s.gopc, s.start_pc, sink.intern_stack(creation)), s, k,
                       decoder, sink);
        !st) {
      return st;
    }
  }
  for (const GoroutineSample& s : list.live) {
    Known& k = known_[s.goid];
    k.generation = generation_;
    if (auto st = transition(s, k, t, decoder, sink); !st) return st;
  }
  for (auto it = known_.begin(); it != known_.end();) {
    if (it->second.generation == generation_) {
      ++it;
      continue;
    }
    if (auto st = sink.emit(Event::exit(t, 0, it->first)); !st) return st;
    it = known_.erase(it);
  }
  return Ok{};
}

SnapshotBackend::SnapshotBackend(const GoBinary& binary, uint64_t interval_ns)
    : binary_(binary), interval_ns_(interval_ns) {}

SnapshotBackend::~SnapshotBackend() {
  (void)detach();
  if (pidfd_ >= 0) close(pidfd_);
}

Status SnapshotBackend::launch(const LaunchSpec& spec) {
  GOREPRO_CHECK(pid_ == 0, "launch after launch or attach");
  auto child = GatedChild::spawn(spec.path, spec.argv, spec.options);
  if (!child) return child.error();
  pid_ = child->pid();
  launched_ = true;
  pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
  // Nothing to put in place before it runs: let it exec, and learn where it was loaded.
  child->open_gate();
  if (auto e = child->exec_errno()) {
    int status;
    (void)waitpid(pid_, &status, 0);
    exit_ = TargetExit{127, 0};
    return make_error(fmt::format("cannot run {}: {}", spec.path, std::strerror(*e)), "check the program's path");
  }
  const uint64_t entry = entry_address_of(pid_);
  bias_ = entry ? entry - binary_.elf().entry() : 0;
  memory_ = std::make_unique<ProcessMemory>(pid_);
  return Ok{};
}

Status SnapshotBackend::attach(pid_t pid) {
  GOREPRO_CHECK(pid_ == 0, "attach after launch or attach");
  if (kill(pid, 0) != 0 && errno == ESRCH) {
    return make_error(fmt::format("no process with pid {}", pid), "check the pid with `ps` or `pgrep`");
  }
  const uint64_t entry = entry_address_of(pid);
  if (entry == 0) {
    return make_error(fmt::format("cannot read /proc/{}/auxv", pid), "run gorepro as root or as the process's user");
  }
  pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  pid_ = pid;
  bias_ = entry - binary_.elf().entry();
  memory_ = std::make_unique<ProcessMemory>(pid);
  uint64_t probe;
  auto allgs = binary_.allgs_address();
  if (allgs && !memory_->read_u64(*allgs + bias_, &probe)) {
    return make_error(fmt::format("cannot read the memory of pid {}: {}", pid, std::strerror(errno)),
                      "run gorepro as root or as the process's user (with kernel.yama.ptrace_scope 0 or 1 as its "
                      "parent), or with CAP_SYS_PTRACE");
  }
  return Ok{};
}

Result<ArmResult> SnapshotBackend::arm(const ArmSpec& spec, EventSink& sink) {
  GOREPRO_CHECK(pid_ != 0 && !decoder_, "arm before launch/attach or twice");
  auto decoder = EventDecoder::make(binary_, *memory_, bias_, sink, spec.stack_depth);
  if (!decoder) return decoder.error();
  decoder_.emplace(std::move(*decoder));
  sink_ = &sink;
  ArmResult result;
  last_time_ = monotonic_ns();
  if (spec.enumerate_preexisting) {
    if (auto r = take_snapshot(true)) return make_error(r->message, "");
    if (stats_.snapshots == 0) {
      return make_error(fmt::format("cannot read the goroutine list of pid {}", pid_),
                        "check that the program is still running");
    }
    result.preexisting = diff_.live();
  }
  // A launched program's first read waits an interval like every other: its runtime is
  // starting up now and its goroutines appear as creations.
  next_ns_ = monotonic_ns() + interval_ns_;
  return result;
}

std::optional<PollResult> SnapshotBackend::take_snapshot(bool baseline) {
  const uint64_t t = std::max(monotonic_ns(), last_time_);
  auto list = decoder_->read_goroutines();
  const uint64_t read_ns = monotonic_ns() - t;
  // Unreadable memory is a program exiting (its reaping comes a moment later) — or, when it
  // goes on, a program gorepro cannot read: give up after a few reads in a row. A half-seen
  // list would read as exits: drop it whole.
  if (!list) return ended(PollResult::Kind::kFailed, list.error().message());
  if (list->unreadable) {
    stats_.snapshots_dropped++;
    if (++failed_in_a_row_ >= kMaxFailedReads && !exited()) {
      return ended(PollResult::Kind::kFailed, fmt::format("the goroutine list of pid {} could not be read {} times in "
                                                          "a row", pid_, kMaxFailedReads));
    }
    return std::nullopt;
  }
  failed_in_a_row_ = 0;
  stats_.snapshot_retries += list->retries;
  Status st = baseline ? diff_.baseline(*list, t, *decoder_) : diff_.next(*list, t, *decoder_, *sink_);
  if (st) {
    replay::SnapshotMark mark{.time_ns = t, .interval_ns = interval_ns_, .read_ns = read_ns,
                              .goroutines = list->live.size(), .retries = list->retries};
    st = sink_->snapshot_taken(mark);
  }
  if (!st) return ended(PollResult::Kind::kSinkFailed, st.error().message());
  last_time_ = t;
  stats_.snapshots++;
  stats_.snapshot_read_ns += read_ns;
  stats_.snapshot_max_read_ns = std::max(stats_.snapshot_max_read_ns, read_ns);
  return std::nullopt;
}

bool SnapshotBackend::exited() {
  if (exit_) return true;
  if (launched_) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) != pid_) return false;
    exit_ = WIFEXITED(status) ? TargetExit{WEXITSTATUS(status), 0} : TargetExit{128 + WTERMSIG(status), WTERMSIG(status)};
    return true;
  }
  if (pidfd_ >= 0) {
    pollfd p{pidfd_, POLLIN, 0};
    if (::poll(&p, 1, 0) != 1) return false;
  } else if (kill(pid_, 0) == 0 || errno != ESRCH) {
    return false;
  }
  exit_ = TargetExit{0, 0};  // not our child: its status is its parent's to read
  return true;
}

PollResult SnapshotBackend::poll(uint64_t until_ns) {
  GOREPRO_CHECK(decoder_.has_value(), "poll before arm");
  using K = PollResult::Kind;
  while (true) {
    if (stop_.load(std::memory_order_relaxed)) return ended(K::kStopRequested);
    if (exited()) {
      PollResult r = ended(K::kExited);
      r.exit_status = exit_->exit_status;
      r.signal = exit_->signal;
      return r;
    }
    uint64_t now = monotonic_ns();
    if (now >= next_ns_) {
      if (auto r = take_snapshot(false)) return *r;
      now = monotonic_ns();
      // On schedule, not after the read: the interval is between starts. A read longer than
      // the interval starts the next one right away, never a backlog.
      next_ns_ = std::max(next_ns_ + interval_ns_, now);
    }
    if (now >= until_ns) return ended(K::kTimeout);
    const uint64_t wake = std::min({until_ns, next_ns_, now + kMaxWaitNs});
    const int wait_ms = static_cast<int>((wake - now + 999'999) / 1'000'000);
    if (pidfd_ >= 0) {
      pollfd p{pidfd_, POLLIN, 0};
      (void)::poll(&p, 1, wait_ms);  // EINTR: a signal to gorepro; look again
    } else {
      usleep(static_cast<useconds_t>(wait_ms) * 1000);
    }
  }
}

Status SnapshotBackend::detach() {
  // Nothing was ever stopped, written or patched: letting go is forgetting.
  return Ok{};
}

}  // namespace gorepro::tracer
