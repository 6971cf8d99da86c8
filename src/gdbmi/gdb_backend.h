// GdbBackend: the Backend that observes a Go program through a gdb child over GDB/MI
// (`record --backend gdb`). gdb places a breakpoint at exactly each probe address src/dwarf
// chose (`-break-insert *ADDR`); at each hit gorepro asks gdb for the thread's registers (by
// number, in one command), the shared EventDecoder reads the memory it needs while gdb holds
// the thread, the same Events as ptrace are emitted, and the thread is resumed. Memory is read
// with process_vm_readv where the kernel allows it (a system call instead of an MI round trip:
// less of gorepro's CPU per event, bench/README.md), else through gdb, one
// `-data-read-memory-bytes` per block not yet read during the hit.
//
// gdb is configured so that the program behaves as if untraced: every signal `nostop noprint
// pass` (SIGURG preemption, SIGINT, SIGSEGV, …: delivered exactly as without gdb), no
// auto-loaded runtime-gdb.py, no pager, no questions, no symbols read for `record`. gdb runs in
// non-stop mode: a hit stops only the thread that hit (as under ptrace), so the other threads
// run on, the program's timing changes least, and hits on several threads queue up instead
// of gdb stopping and restarting every thread around each one (all-stop).
//
// A launched program is forked by gorepro itself (tracer::GatedChild) and held before its exec
// while gdb attaches; gdb then catches the exec and the program's first instruction. So the
// program is gorepro's child in gorepro's process group with gorepro's descriptors and
// environment, exactly as under ptrace, and nothing it prints passes through gdb. Recording
// ends just before an exec (a breakpoint where syscall.Exec announces it): gdb 13 in non-stop
// mode can fail an assertion following a multi-threaded program through exec.
//
// Invariants: gorepro never writes the program's memory itself (patch() goes through gdb, and
// detach() writes the original bytes back); everything gdb inserted is removed by
// `-target-detach`; a gdb that dies or hangs ends the recording with one error naming it.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "dwarf/go_binary.h"
#include "gdbmi/mi_client.h"
#include "tracer/backend.h"
#include "tracer/emulator.h"
#include "tracer/event_decoder.h"
#include "tracer/registers.h"
#include "tracer/spawn.h"

namespace gorepro::gdbmi {

// How the decoder reads the program's memory at a hit: through gdb (`-data-read-memory-bytes`,
// one MI round trip per block), or with process_vm_readv while gdb holds the thread (a system
// call; the kernel must allow it, as it does for gorepro's own children). kAuto: direct when
// allowed, else through gdb.
enum class GdbMemory { kAuto, kMi, kDirect };

struct GdbBackendOptions {
  MiClientOptions client;
  // Stop only the thread that hit (non-stop) rather than every thread (all-stop).
  bool non_stop = true;
  // Let gdb read the program's symbols (DWARF): only for passing gdb commands through.
  bool symbols = false;
  GdbMemory memory = GdbMemory::kAuto;
};

class GdbBackend final : public tracer::Backend, public tracer::LiveTarget {
 public:
  explicit GdbBackend(const GoBinary& binary, GdbBackendOptions options = {});
  ~GdbBackend() override;

  const char* name() const override { return "gdb"; }
  tracer::BackendCaps caps() const override {
    return tracer::BackendCaps{.stops_target = true, .survives_tracer_death = false, .can_patch = true,
                               .sched_probes = true, .live_stop = true, .verdicts = true};
  }
  Status launch(const tracer::LaunchSpec& spec) override;
  Status attach(pid_t pid) override;
  pid_t pid() const override { return pid_; }
  uint64_t load_bias() const override { return bias_; }
  Status patch(uint64_t address, std::span<const uint8_t> bytes) override;
  Result<tracer::ArmResult> arm(const tracer::ArmSpec& spec, tracer::EventSink& sink) override;
  tracer::PollResult poll(uint64_t until_ns) override;
  void request_stop() override;
  Status detach() override;
  // Not after gdb died: the program's end is then a consequence, for the caller to reap.
  std::optional<tracer::TargetExit> target_exit() const override {
    return gdb_lost_ ? std::nullopt : exit_;
  }
  tracer::BackendStats stats() const override;
  tracer::LiveTarget* live() override { return this; }
  std::string verdict_error() const override { return verdict_error_; }

  // LiveTarget (`gorepro debug --backend gdb`): a hold is `-exec-interrupt --all`, then every
  // thread's *stopped is waited for; hits other threads made meanwhile are decoded and their
  // threads stay stopped. resume() is `-exec-continue --all`. passthrough() runs any gdb command
  // (`-interpreter-exec console`); the program's symbols are loaded for it the first time.
  void hold_when(std::function<bool(const replay::Event&)> when) override { hold_when_ = std::move(when); }
  void request_hold() override;
  Status resume() override;
  const TargetMemory& memory() const override;
  Result<std::string> passthrough(std::string_view command) override;
  Status kill() override;
  // While held: every thread's registers (through gdb) and the scan (src/verdict).
  Result<replay::LeakVerdicts> verdicts_now() override;

  // What gdb costs us: MI commands sent and memory blocks read, for bench/ and tests.
  struct MiStats {
    uint64_t register_reads = 0;
    uint64_t memory_reads = 0;
    uint64_t memory_bytes = 0;
  };
  const MiStats& mi_stats() const { return mi_stats_; }

 private:
  class Memory;
  struct Site {
    tracer::ProbeRole role;
    bool past_stack_check = false;
    tracer::InstructionEmulator insn;
  };
  Status start_gdb();
  Status configure_gdb(const std::string& exec_file);
  // Waits for gdb's *stopped records after an attach (every thread stopped).
  Status wait_attached();
  Result<tracer::Registers> registers(const std::string& thread);
  Result<uint32_t> lwp_of(const std::string& thread);
  // Handles one async record inside poll(); sets out and returns true when poll must return.
  bool on_async(const MiRecord& r, tracer::PollResult& out);
  bool on_breakpoint(const MiRecord& r, tracer::PollResult& out);
  bool on_hit(const std::string& bkpt, const std::string& thread, const tracer::Registers& regs,
              tracer::PollResult& out);
  // A hit that could not be decoded: the thread is let go (or gdb is gone: out says so).
  bool on_lost_hit(const std::string& thread, tracer::PollResult& out);
  void resume(const std::string& thread);
  // The program ended under gdb: its status, from waitpid when it is our child.
  tracer::TargetExit exit_status(const MiRecord& stopped);
  // Whether the program is gone, whatever gdb said (sets exit_ when it is).
  bool program_gone();
  bool thread_held(const std::string& resume_command) const;
  tracer::PollResult& exited(tracer::PollResult& out);
  Status fail_attach(Error e);
  // out says why the recording cannot go on once gdb is gone (and remembers that it is).
  tracer::PollResult& gdb_gone(tracer::PollResult& out);
  // Kills a gdb that stopped answering; its failure() says so.
  void end_hung_gdb();
  Status write_memory(uint64_t address, std::span<const uint8_t> bytes);
  // Stops every thread (the one that asked is stopped already) and returns kHeld.
  tracer::PollResult hold();
  // ArmSpec::verdicts, at the program's exit (a thread stopped at runtime.exit, before its
  // exit_group: the address space is whole) or before a detach: every thread is stopped, the
  // scan's verdicts go to the sink (or verdict_error_ says why not). false (out set) when the
  // recording cannot go on (the program or gdb is gone).
  bool take_verdicts(tracer::PollResult& out);

  const GoBinary& binary_;
  GdbBackendOptions options_;
  std::unique_ptr<MiClient> gdb_;
  std::optional<tracer::GatedChild> child_;  // launched: held at its exec until gdb attached
  std::unique_ptr<Memory> memory_;
  std::optional<tracer::EventDecoder> decoder_;
  pid_t pid_ = 0;
  bool launched_ = false;
  bool attached_ = false;  // gdb holds the program
  uint64_t bias_ = 0;
  std::string exec_catch_;  // the catchpoint number of `catch exec`
  std::string exec_guard_;  // the breakpoint at syscall.runtime_BeforeExec (see arm())
  std::string exit_stop_;   // the breakpoint at runtime.exit (ArmSpec::verdicts)
  bool verdicts_wanted_ = false;  // not taken yet
  std::string verdict_error_;
  std::map<std::string, Site> sites_;  // breakpoint number -> what it probes
  std::unordered_map<std::string, uint32_t> lwps_;  // gdb thread id -> LWP
  std::vector<std::string> reg_numbers_;  // gdb's register numbers of user_regs_struct's fields...
  std::vector<size_t> reg_offsets_;       // ... and where each goes in it
  std::string reg_command_;               // " x 0 1 2 ..." : the numbers, asked for in one command
  std::vector<std::pair<uint64_t, std::vector<uint8_t>>> patches_;  // address, original bytes
  std::optional<tracer::TargetExit> exit_;
  std::optional<tracer::TargetExit> exit_from_gdb_;  // =thread-group-exited's exit-code
  std::atomic<bool> stop_{false};
  bool gdb_lost_ = false;  // gdb died or hung during the recording
  MiStats mi_stats_;
  std::unique_ptr<tracer::HoldSink> hold_sink_;
  std::function<bool(const replay::Event&)> hold_when_;
  std::atomic<bool> hold_requested_{false};
  bool holding_ = false;   // the whole program is held (LiveTarget)
  bool stopping_ = false;  // hold() is collecting the threads' stops: none is resumed
  bool symbols_loaded_ = false;
};

}  // namespace gorepro::gdbmi
