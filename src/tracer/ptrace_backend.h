// PtraceBackend: the Backend of int3 breakpoints under ptrace (Tracee) at the probes src/dwarf
// chose. A hit stops only the thread that hit it; the EventDecoder reads the runtime's
// structures while it is stopped, and the displaced instruction is emulated on resume, so a
// probe is never lifted and no hit on another thread is missed. poll() runs the
// wait → decode → resume loop; a SIGALRM tick (no SA_RESTART) wakes its blocking waitpid, so
// quiet programs still return at the deadline the recorder asks for.
//
// Launched programs are killed if gorepro dies (PTRACE_O_EXITKILL, as under rr); an attached
// program whose tracer is SIGKILLed keeps the int3 bytes in its text (caps().survives_tracer_death
// is false): `record --pid` therefore records in a child process under a guardian, and every
// byte is entered in the guard table given to guard_bytes() before it is written.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <vector>

#include "tracer/backend.h"
#include "tracer/event_decoder.h"
#include "tracer/tracee.h"

namespace gorepro::tracer {

class PtraceBackend final : public Backend, public LiveTarget {
 public:
  explicit PtraceBackend(const GoBinary& binary);
  ~PtraceBackend() override;

  const char* name() const override { return "ptrace"; }
  BackendCaps caps() const override {
    return BackendCaps{.stops_target = true, .survives_tracer_death = false, .can_patch = true, .sched_probes = true,
                       .perturb = true, .live_stop = true, .verdicts = true};
  }
  Status launch(const LaunchSpec& spec) override;
  Status attach(pid_t pid) override;
  pid_t pid() const override { return tracee_ ? tracee_->pid() : 0; }
  uint64_t load_bias() const override;
  Status patch(uint64_t address, std::span<const uint8_t> bytes) override;
  Result<ArmResult> arm(const ArmSpec& spec, EventSink& sink) override;
  PollResult poll(uint64_t until_ns) override;
  void request_stop() override { stop_.store(true, std::memory_order_relaxed); }
  Status detach() override;
  std::optional<TargetExit> target_exit() const override;
  BackendStats stats() const override;
  void guard_bytes(GuardTable& table) override { guard_ = &table; }
  LiveTarget* live() override { return this; }
  // A held thread stays on its breakpoint (its event already written) while poll() goes on
  // with the others; it is resumed once its time is up, or at detach/hold.
  void set_perturber(Perturber* perturber) override { perturber_ = perturber; }

  // LiveTarget: a hold stops every thread (Tracee::stop_all); hits other threads made meanwhile
  // are decoded at once and stay on their breakpoints until resume().
  void hold_when(std::function<bool(const replay::Event&)> when) override { hold_when_ = std::move(when); }
  void request_hold() override { hold_requested_.store(true, std::memory_order_relaxed); }
  Status resume() override;
  const TargetMemory& memory() const override { return *tracee_; }
  Status kill() override;
  Result<replay::LeakVerdicts> verdicts_now() override;
  std::string verdict_error() const override { return verdict_error_; }

 private:
  // ArmSpec::verdicts: the leak-verdict scan (src/verdict) with every thread stopped — at the
  // program's exit (exiting: its thread and registers) or before a detach — into the sink.
  void take_verdicts(const Stop* exiting);
  Result<replay::LeakVerdicts> scan_now(const Stop* exiting);
  class TickTimer;
  // Decodes a breakpoint hit (unless it is a stack-check jump that jumps); the hold sink notes
  // whether an event asked to hold.
  Status decode(const Stop& s, uint64_t now);
  // Stops every thread around `holding` (or none) and returns kHeld.
  PollResult hold(std::optional<Stop> holding);
  // Perturbation: resumes the deferred stops whose time has come (all when `all`), and points
  // the tick timer at the next one.
  Status release_deferred(uint64_t now, bool all);
  const GoBinary& binary_;
  std::unique_ptr<Tracee> tracee_;
  std::optional<EventDecoder> decoder_;
  std::unique_ptr<TickTimer> timer_;
  // Breakpoint ids index these: the role, and whether the site is a stack-check jump (a hit
  // that jumps to morestack is not a call yet: the function starts over later).
  std::vector<ProbeRole> roles_;
  std::vector<bool> past_stack_check_;
  // The schedtrace G-line read probe's sites, lifted while the decoder does not want reads
  // (a dump past EventDecoder::kSchedReadsPerDump), put back when the next dump begins.
  std::vector<uint64_t> sched_g_sites_;
  bool sched_g_armed_ = true;
  std::atomic<bool> stop_{false};
  std::unique_ptr<HoldSink> hold_sink_;
  std::function<bool(const replay::Event&)> hold_when_;
  std::atomic<bool> hold_requested_{false};
  std::vector<Stop> held_;  // threads held on a breakpoint (the hit that asked first, if any)
  bool holding_ = false;
  GuardTable* guard_ = nullptr;
  Perturber* perturber_ = nullptr;
  struct Deferred {
    Stop stop;
    uint64_t until_ns;
    uint64_t hold;  // its number, for Perturber::hold_over
  };
  uint64_t holds_granted_ = 0;
  std::vector<Deferred> deferred_;  // threads held by the perturber, each until its time
  bool verdicts_wanted_ = false;  // not taken yet
  std::string verdict_error_;
};

}  // namespace gorepro::tracer
