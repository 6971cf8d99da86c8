// record --binary PATH --all: every process running one Go binary — those running now and those
// that start while recording — each recorded into a trace of its own, with one set of uprobes.
// The uprobes sit on the binary's file for every process that maps it (pid -1), so one BPF
// object serves them all; records are told apart by process (tgid) and delivered to that
// process's trace, decoded with its own load bias. Processes running at the start get their
// preexisting goroutines (bpf/preexisting.h); one that starts later is recorded from its first
// goroutine. A process that exits or execs has its trace closed there; the recording ends at
// the duration, or when asked to stop (Ctrl-C, SIGTERM, SIGHUP).
//
// Invariants: a process's events never reach another's trace; every trace opened is closed on
// every path; nothing is written into any process (uprobes only).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dwarf/go_binary.h"
#include "tracer/backend.h"
#include "util/result.h"

namespace gorepro::bpf {

struct AllRequest {
  std::string binary_path;              // the executable whose processes to record
  std::string output;                   // "FILE.gtr" → FILE-PID.gtr; "" → gorepro-PROGRAM-PID.gtr
  std::optional<uint64_t> duration_ns;  // stop after this long
  int stack_depth = 32;
  tracer::ProbeOptions probes;          // schedtrace probes do not apply
  uint64_t ring_bytes = 0;              // 0: the default
  bool status_line = true;              // on stderr when it is a terminal
};

struct ProcessRecording {
  pid_t pid = 0;
  std::string trace_path;
  uint64_t events = 0;
  size_t preexisting = 0;   // goroutines found alive at the start (0 for processes started later)
  uint64_t lost = 0;        // events of this process the ring had no room for
  bool exited = false;      // the process ended while recorded
  bool execed = false;      // ... or replaced its image
  std::string error;        // its trace could not be written (the others went on)
};

struct AllResult {
  std::vector<ProcessRecording> processes;  // in the order they were found
  tracer::BackendStats stats;
  uint64_t lost_unattributed = 0;  // lost events no process could be named for
  std::string how;                 // why the recording ended
};

// Runs the whole recording; `stop` is polled (set it from a signal handler). Errors are
// failures to start (no such binary, BPF refused); once started, per-process trouble is in
// the result.
Result<AllResult> record_all(const GoBinary& binary, const AllRequest& request, const std::function<bool()>& stop);

// The trace path of process pid for an --all recording's output option.
std::string all_trace_path(const std::string& output, const std::string& program, pid_t pid);

}  // namespace gorepro::bpf
