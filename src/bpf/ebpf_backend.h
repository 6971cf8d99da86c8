// EbpfBackend: the Backend of eBPF uprobes (bpf/gorepro.bpf.c, loaded by ProbeProgram) at the
// probes src/dwarf chose. Nothing stops the program: each probe hit runs a BPF program on the
// CPU that hit it, which reads the runtime's structures and writes a record into a ring buffer
// in hit order; poll() reads the ring, decodes (RecordDecoder) and delivers the events. The
// program's code is never written to — the kernel holds the probes and drops them when gorepro
// exits, however it exits — so a SIGKILLed recording leaves the program running unchanged
// (caps().survives_tracer_death).
//
// Launch: the program is started stopped right after its exec (ptrace, only for that moment),
// the uprobes are attached for its pid, and ptrace lets go before it runs an instruction.
// Attach: nothing is stopped; the goroutines alive then are read from user space (allgs through
// process_vm_readv, as ptrace does) after the uprobes are in place, and reconciled with what
// the probes saw meanwhile. Every bpf_link lives until detach() or destruction.
//
// Invariants: events reach the sink in ring order, which is each goroutine's causal order (a
// record is in the ring before its thread goes on); times never decrease per process; records
// the ring had no room for are counted, named by goroutine, and written into the trace.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bpf/probe_program.h"
#include "bpf/record_decoder.h"
#include "tracer/backend.h"
#include "tracer/tracee.h"

namespace gorepro::bpf {

struct EbpfOptions {
  uint64_t ring_bytes = 16ull << 20;  // the ring buffer between the probes and gorepro
};

class EbpfBackend final : public tracer::Backend, private RecordHandler {
 public:
  explicit EbpfBackend(const GoBinary& binary, EbpfOptions options = {});
  ~EbpfBackend() override;

  const char* name() const override { return "ebpf"; }
  tracer::BackendCaps caps() const override {
    return tracer::BackendCaps{.stops_target = false, .survives_tracer_death = true, .can_patch = false,
                               .sched_probes = true};
  }
  Status launch(const tracer::LaunchSpec& spec) override;
  Status attach(pid_t pid) override;
  pid_t pid() const override { return pid_; }
  uint64_t load_bias() const override { return bias_; }
  Result<tracer::ArmResult> arm(const tracer::ArmSpec& spec, tracer::EventSink& sink) override;
  tracer::PollResult poll(uint64_t until_ns) override;
  void request_stop() override { stop_.store(true, std::memory_order_relaxed); }
  Status detach() override;
  std::optional<tracer::TargetExit> target_exit() const override { return exit_; }
  tracer::BackendStats stats() const override;

 private:
  void on_record(const gr_record& r) override;
  // Reads what waits in the ring (waiting up to timeout_ms when timeout_ms > 0) and delivers
  // it; kExec when the program called exec; kSinkFailed/kFailed with a message.
  std::optional<tracer::PollResult> pump(int timeout_ms);
  // Delivers the batch read so far, up to an exec of the program (then kExec).
  std::optional<tracer::PollResult> deliver_batch();
  Status report_losses();
  // Whether the program has exited (recording its status when we can know it).
  bool exited();
  // The goroutines alive now, as preexisting events (bpf/preexisting.h).
  Result<size_t> enumerate_preexisting(tracer::EventSink& sink, int stack_depth, uint64_t t0);

  const GoBinary& binary_;
  EbpfOptions options_;
  std::unique_ptr<tracer::Tracee> launched_;  // launch(): held stopped until arm()
  bool is_launched_ = false;
  pid_t pid_ = 0;
  uint64_t bias_ = 0;
  int pidfd_ = -1;
  std::unique_ptr<ProbeProgram> program_;
  std::optional<RecordDecoder> decoder_;
  tracer::EventSink* sink_ = nullptr;
  RecordBatch batch_;
  Delivery delivery_;
  uint64_t lost_reported_ = 0;
  ProbeCounters final_counters_;  // as they were when the probes were removed
  std::optional<tracer::TargetExit> exit_;
  bool detached_ = false;
  std::atomic<bool> stop_{false};
};

}  // namespace gorepro::bpf
