// PtraceBackend: records a Go program with int3 breakpoints at the probes src/dwarf chose —
// sets them, runs the stop/decode/resume loop until the target exits, execs, or the caller asks
// to stop (duration, Ctrl-C, SIGTERM), and always detaches cleanly.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dwarf/go_binary.h"
#include "tracer/event_decoder.h"
#include "tracer/event_sink.h"
#include "tracer/tracee.h"
#include "util/result.h"

namespace gorepro::tracer {

struct RecordOptions {
  int stack_depth = 32;
  bool probe_execute = false;  // also stop at runtime.execute (catches every wake path; slower)
  // Also stop at every change between running, runnable and system call (execute included):
  // the goroutine table then knows all four states. Costs two stops per system call.
  bool probe_states = false;
  bool attached = false;       // enumerate preexisting goroutines first
  bool probe_schedtrace = false;  // also stop where the runtime begins and ends a schedtrace dump
  bool probe_sched_reads = false;  // ... and where it reads each goroutine for a G line (scheddetail)
};

struct RecordProgress {
  uint64_t events = 0;
  double events_per_s = 0;
  int64_t live = 0;
  uint64_t top_gopc = 0;   // creation PC creating goroutines fastest in the last interval
  double top_rate = 0;     // its creations per second
};

struct RecordControl {
  const std::atomic<bool>* stop = nullptr;    // set asynchronously to end the recording
  std::optional<uint64_t> deadline_ns;        // CLOCK_MONOTONIC
  std::function<void(const RecordProgress&)> progress;  // called a few times a second
};

struct RecordOutcome {
  enum class How { kExited, kStopped, kExec, kSinkFailed };
  How how = How::kExited;
  int exit_status = 0;  // kExited: the target's status (or 128+signal)
  int signal = 0;
  std::string message;  // why it ended, when not by exit
  size_t preexisting = 0;
  DecoderStats stats;
  uint64_t unemulated_steps = 0;  // see Tracee::unemulated_steps
  std::vector<std::string> probes;  // "role:function" actually set
};

// The probes a recording sets, in the order ids are assigned.
std::vector<const Probe*> chosen_probes(const GoBinary& binary, const RecordOptions& options);

class PtraceBackend {
 public:
  static Result<RecordOutcome> record(const GoBinary& binary, Tracee& tracee, EventSink& sink,
                                      const RecordOptions& options, const RecordControl& control);
};

uint64_t monotonic_ns();

}  // namespace gorepro::tracer
