// PtraceBackend: the Backend of int3 breakpoints under ptrace (Tracee) at the probes src/dwarf
// chose. A hit stops only the thread that hit it; the EventDecoder reads the runtime's
// structures while it is stopped, and the displaced instruction is emulated on resume, so a
// probe is never lifted and no hit on another thread is missed. poll() runs the
// wait → decode → resume loop; a SIGALRM tick (no SA_RESTART) wakes its blocking waitpid, so
// quiet programs still return at the deadline the recorder asks for.
//
// Launched programs are killed if gorepro dies (PTRACE_O_EXITKILL, as under rr); an attached
// program whose tracer is SIGKILLed keeps the int3 bytes in its text (caps().survives_tracer_death
// is false).
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <vector>

#include "tracer/backend.h"
#include "tracer/event_decoder.h"
#include "tracer/tracee.h"

namespace gorepro::tracer {

class PtraceBackend final : public Backend {
 public:
  explicit PtraceBackend(const GoBinary& binary);
  ~PtraceBackend() override;

  const char* name() const override { return "ptrace"; }
  BackendCaps caps() const override {
    return BackendCaps{.stops_target = true, .survives_tracer_death = false, .can_patch = true, .sched_probes = true};
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

 private:
  class TickTimer;
  const GoBinary& binary_;
  std::unique_ptr<Tracee> tracee_;
  std::optional<EventDecoder> decoder_;
  std::unique_ptr<TickTimer> timer_;
  // Breakpoint ids index these: the role, and whether the site is a stack-check jump (a hit
  // that jumps to morestack is not a call yet: the function starts over later).
  std::vector<ProbeRole> roles_;
  std::vector<bool> past_stack_check_;
  std::atomic<bool> stop_{false};
};

}  // namespace gorepro::tracer
