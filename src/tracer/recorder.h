// Recorder: one recording of a Go program into a .gtr trace, written once for every Backend —
// check the request, start the program (launch, with GODEBUG=schedtrace captured apart from its
// stderr when asked) or attach, write the header, arm the probes (goroutines alive at attach
// become preexisting events), poll until the program exits, the duration ends, gorepro is asked
// to stop or the program execs, detach, close the trace, and learn the program's exit status.
// The live status line and the per-site counts behind it are computed here from the events
// themselves, so every backend gets them. `record` is wiring around this; `repro` runs it in a
// loop.
//
// Invariants: the trace is closed (its end chunk written) on every path that created it; the
// target is detached on every path that started it, with every byte restored; a launched
// program's exit status is never lost (the recorder reaps it after an early detach).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "dwarf/go_binary.h"
#include "replay/predicate.h"
#include "replay/trace_header.h"
#include "replay/trace_writer.h"
#include "tracer/backend.h"
#include "util/result.h"

namespace gorepro::tracer {

struct RecordRequest {
  pid_t pid = 0;                      // attach when non-zero ...
  std::vector<std::string> command;   // ... else launch PROGRAM ARGS (PATH lookup like execvp)
  std::string output;                 // trace path; "" = gorepro-PROGRAM-PID.gtr here
  std::optional<uint64_t> duration_ns;  // stop (and detach) after this long
  int stack_depth = 32;
  ProbeOptions probes;                // probe_schedtrace/probe_sched_reads are derived below
  int schedtrace_ms = 0;              // > 0: GODEBUG=schedtrace=MS, captured into the trace
  bool scheddetail = false;           // with schedtrace: scheddetail=1 (every P, M and G line)
  bool show_schedtrace = false;       // with schedtrace: also show the SCHED lines on stderr
  bool schedtrace_fixed = false;      // with schedtrace: never stretch the interval (SchedPacer)
  bool status_line = true;            // live status on stderr when it is a terminal
  bool verdicts = true;               // leak verdicts at the report instant, where the backend can
                                      // (caps().verdicts); `record --no-verdict` turns them off
  // Launch only: KEY=VALUE entries set in the program's environment (over gorepro's own), its
  // descriptors (e.g. {1, fd}: stdout into a file) and the CPUs it may run on (repro varies them).
  std::vector<std::string> env_overrides;
  std::vector<std::pair<int, int>> fds;
  std::vector<int> cpus;
  // Trigger: end the recording as --duration does once this holds on the goroutines recorded
  // so far (the report instant is now); checked every kTriggerCheckNs while events arrive.
  std::optional<replay::Predicate> until;
  // "HOST:PORT": serve live counts as Prometheus text at http://HOST:PORT/metrics while
  // recording (MetricsServer), refreshed every kMetricsRefreshNs.
  std::string metrics_address;
  // Flight recorder (--ring): keep only the last window of this long and/or this many bytes;
  // the trace file is the window, written at the end; SIGUSR1 writes it to TRACE.N.gtr too.
  uint64_t ring_window_ns = 0;
  uint64_t ring_bytes = 0;
};

inline constexpr uint64_t kMetricsRefreshNs = 200'000'000;

// How often record() holds --until against the events so far. A backend's poll returns within
// kPollLatenessNs of its deadline, so a trigger fires at most this + kPollLatenessNs (100 ms)
// after the event that made it true.
inline constexpr uint64_t kTriggerCheckNs = 50'000'000;

// Usage errors in a request (exit status 2 in the CLI), before anything is opened or started.
Status validate(const RecordRequest& request);

// The executable a request records: PROGRAM found like execvp would, or /proc/PID/exe.
Result<std::string> target_path(const RecordRequest& request);

// The binary a request records, opened and checked (a non-Go program or unsupported version is
// refused before anything runs); errors name the pid when attaching.
Result<std::unique_ptr<GoBinary>> open_target_binary(const RecordRequest& request);

struct RecordProgress {
  uint64_t events = 0;
  double events_per_s = 0;
  int64_t live = 0;        // goroutines created (or found at attach) minus exited
  uint64_t top_gopc = 0;   // creation PC creating goroutines fastest in the last interval
  double top_rate = 0;     // its creations per second
};

// What the leak-verdict scan at the report instant found. At namespace scope, not nested in
// RecordResult: clang cannot default-construct a nested struct with member initializers inside
// an optional before the enclosing class is complete.
struct RecordVerdictCounts {
  size_t leaked = 0, time_io = 0, may_wake = 0;
  uint64_t scan_ns = 0, bytes_scanned = 0;
};

struct RecordResult {
  enum class How { kExited, kStopped, kDuration, kTrigger, kExec, kFailed, kSinkFailed };
  How how = How::kExited;
  std::string message;        // why it ended, when not by the program's exit
  bool launched = false;
  pid_t pid = 0;
  std::string trace_path;
  uint64_t events_written = 0;
  size_t preexisting = 0;
  std::vector<std::string> probes;  // "role:function" placed
  BackendStats stats;
  // kTrigger: when --until held, on the trace's clock (ns since its start), and the values.
  uint64_t trigger_ns = 0;
  std::string trigger_explained;  // e.g. "live>100 (live = 101)"

  bool trace_closed = true;         // false: closing the trace failed (message says why)
  std::string close_error;
  // The program's exit: by itself, or after we let go of it (launched, detached early).
  std::optional<TargetExit> exit;
  // --schedtrace: what was captured.
  bool schedtrace = false;
  uint64_t sched_samples = 0;
  uint64_t sched_interleaved = 0;   // blocks mixed with other output: passed through
  bool sched_cut_short = false;     // the program exited in the middle of the last dump
  bool sched_whole_stderr = false;  // the program's whole stderr went through gorepro
  std::string sched_error;          // a failure appending the last samples
  // The runtime's dump interval as paced (tracer/sched_pacer.h): the longest set (0: never
  // stretched), how often it was rewritten, the longest dump, and why pacing stopped ("" = it did not).
  int sched_asked_ms = 0;           // --schedtrace=MS
  int sched_paced_max_ms = 0;
  uint64_t sched_pace_changes = 0;
  uint64_t sched_longest_dump_ns = 0;
  std::string sched_pace_off;
  // --ring: what the file holds (the window) and the dumps SIGUSR1 asked for on the way.
  bool ring = false;
  replay::RingStats window;
  std::vector<std::string> dumps;   // paths written

  // Leak verdicts taken at the report instant (none: --no-verdict, or the backend cannot).
  using VerdictCounts = RecordVerdictCounts;
  std::optional<VerdictCounts> verdicts;
  std::string verdict_error;  // why verdicts were asked for and not taken

  // The exit status `gorepro record` ends with: the launched program's own, 1 when the trace
  // could not be written, else 0.
  int exit_code() const;
};

struct RecordHooks {
  // Set asynchronously to end the recording (besides the signals RecordSignals routes).
  const std::atomic<bool>* stop = nullptr;
  // Called a few times a second with the counts so far (the CLI's status line goes through it).
  std::function<void(const RecordProgress&)> progress;
};

// Runs one whole recording with a backend made for `binary`. Errors are failures to start
// (the program could not be launched or attached, the trace could not be created); once the
// trace exists, how the recording ended is in the result.
Result<RecordResult> record(Backend& backend, const GoBinary& binary, const RecordRequest& request,
                            const RecordHooks& hooks = {});

// While alive, routes SIGINT, SIGTERM and SIGHUP for a recording: an attached recording is
// asked to stop (and detaches); a launched program already got a terminal's signal (same
// process group), and a signal sent to gorepro by a process is passed on to it, so the program
// sees each once and the recording ends with its exit. Restores the previous handlers.
class RecordSignals {
 public:
  RecordSignals();
  ~RecordSignals();
  RecordSignals(const RecordSignals&) = delete;
  RecordSignals& operator=(const RecordSignals&) = delete;
  // Whether a stop was asked for (attached recordings); record() looks at it.
  static bool stop_requested();
  // record() tells which backend and launched child are current (nullptr / 0 when none).
  static void watch(Backend* backend, pid_t launched_child);
};

// A trace's header for a recording of `binary` (run from `path`) with these probes; the
// caller adds pid or argv, and the clock when the recording starts.
replay::TraceHeader trace_header(const GoBinary& binary, const std::string& path, std::string_view backend,
                                 const std::vector<const Probe*>& probes);

// "main.go:42" for a creation PC, for status lines.
std::string site_of(const GoBinary& binary, uint64_t gopc);

}  // namespace gorepro::tracer
