// gorepro record: launch or attach to a Go program under a backend and write a .gtr trace.
// Wiring only: the recording itself is tracer::record (src/tracer/recorder.h).
#include <cstring>

#include <fmt/format.h>

#include "cli/backends.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "replay/duration.h"
#include "tracer/event_decoder.h"
#include "tracer/guardian.h"
#include "tracer/recorder.h"
#include "tracer/sched_pacer.h"
#ifdef GOREPRO_HAVE_BPF
#include "bpf/all_processes.h"
#endif

namespace gorepro::cli {

namespace {

struct RecordCliOptions {
  std::string output;
  std::string backend = "ptrace";
  int pid = 0;
  std::string duration;
  std::string until;            // --until CONDITION
  std::string metrics;          // --metrics HOST:PORT
  bool quiet = false;
  bool no_verdict = false;
  int stack_depth = 32;
  bool probe_execute = false;
  bool probe_states = false;
  bool schedtrace = false;      // --schedtrace given
  std::string schedtrace_ms;    // its value ("" = default)
  bool scheddetail = false;
  bool show_schedtrace = false;
  bool schedtrace_fixed = false;
  std::string ring_size;        // ebpf: --ring-size
  std::vector<std::string> ring;  // --ring 5m and/or --ring 500MB (flight recorder)
  std::string snapshot;         // --snapshot INTERVAL: sample the goroutine list, no probes
  bool backend_given = false;   // --backend was on the command line
  std::string binary;           // --binary PATH (with --all)
  bool all = false;             // --all: every process running --binary
  std::vector<std::string> command;
};

// "16M", "512K", "1G" or plain bytes, as the ebpf ring buffer's size: a power of two.
Result<uint64_t> parse_ring_size(const std::string& text) {
  char* end = nullptr;
  unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  std::string unit = end ? end : "";
  uint64_t scale = unit.empty() ? 1 : unit == "K" || unit == "k" ? 1ull << 10 : unit == "M" || unit == "m" ? 1ull << 20
                                    : unit == "G" || unit == "g"   ? 1ull << 30 : 0;
  const uint64_t bytes = v * scale;
  if (end == text.c_str() || scale == 0 || bytes < 4096 || bytes > (1ull << 30) || (bytes & (bytes - 1)) != 0) {
    return make_error(fmt::format("invalid --ring-size '{}'", text),
                      "give a power of two between 4K and 1G, e.g. --ring-size 64M");
  }
  return bytes;
}

constexpr int kDefaultSchedtraceMs = 100;
constexpr uint64_t kMinRingBytes = 256 * 1024;     // a few chunks (64 KiB each)
constexpr uint64_t kMinRingNs = 1'000'000'000;     // a few chunks (250 ms each at most)

// --ring 5m, --ring 500MB, both (given twice or as "5m,500MB"): the flight recorder's bounds.
Status parse_ring(const std::vector<std::string>& values, tracer::RecordRequest& r) {
  for (const std::string& all : values) {
    size_t start = 0;
    while (start <= all.size()) {
      size_t comma = all.find(',', start);
      if (comma == std::string::npos) comma = all.size();
      const std::string text = all.substr(start, comma - start);
      start = comma + 1;
      char* end = nullptr;
      const double v = std::strtod(text.c_str(), &end);
      const std::string unit = end ? end : "";
      const uint64_t scale = unit == "B" ? 1 : unit == "KB" || unit == "K" ? 1ull << 10 : unit == "MB" || unit == "M" ? 1ull << 20
                             : unit == "GB" || unit == "G" ? 1ull << 30 : 0;
      if (end != text.c_str() && scale && v > 0) {
        r.ring_bytes = static_cast<uint64_t>(v * static_cast<double>(scale));
        if (r.ring_bytes < kMinRingBytes) {
          return make_error(fmt::format("--ring {} is too small", text), "give at least 256KB, e.g. --ring 100MB");
        }
        continue;
      }
      auto ns = replay::parse_duration(text);
      if (!ns) {
        return make_error(fmt::format("invalid --ring '{}'", text),
                          "give a time window (5m, 30s), a size (500MB, 1GB), or both: --ring 5m --ring 500MB");
      }
      if (*ns < kMinRingNs) return make_error(fmt::format("--ring {} is too short", text), "give at least 1s, e.g. --ring 5m");
      r.ring_window_ns = *ns;
    }
  }
  return Ok{};
}

// The request the options describe, or a usage error (exit 2).
Result<tracer::RecordRequest> request_of(const RecordCliOptions& o) {
  tracer::RecordRequest r;
  r.pid = o.pid;
  r.command = o.command;
  r.output = o.output;
  r.stack_depth = o.stack_depth;
  r.probes.probe_execute = o.probe_execute;
  r.probes.probe_states = o.probe_states;
  r.scheddetail = o.scheddetail;
  r.show_schedtrace = o.show_schedtrace;
  r.schedtrace_fixed = o.schedtrace_fixed;
  r.status_line = !o.quiet;
  r.verdicts = !o.no_verdict;
  r.metrics_address = o.metrics;
  if (o.schedtrace) {
    r.schedtrace_ms = kDefaultSchedtraceMs;
    if (!o.schedtrace_ms.empty()) {
      char* end = nullptr;
      long v = std::strtol(o.schedtrace_ms.c_str(), &end, 10);
      if (*end != '\0' || v <= 0 || v > 3'600'000) {
        return make_error(fmt::format("invalid --schedtrace period '{}'", o.schedtrace_ms),
                          "give milliseconds, e.g. --schedtrace=10");
      }
      r.schedtrace_ms = static_cast<int>(v);
    }
  }
  if (!o.duration.empty()) {
    r.duration_ns = replay::parse_duration(o.duration);
    if (!r.duration_ns || *r.duration_ns == 0) {
      return make_error(fmt::format("invalid --duration '{}'", o.duration), "use a Go duration such as 30s, 500ms or 2m");
    }
  }
  if (!o.until.empty()) {
    auto predicate = replay::Predicate::parse(o.until);
    if (!predicate) return predicate.error();
    r.until = std::move(*predicate);
  }
  if (auto st = parse_ring(o.ring, r); !st) return st.error();
  if (auto st = tracer::validate(r); !st) return st.error();
  return r;
}

void print_summary(const tracer::RecordResult& r) {
  using How = tracer::RecordResult::How;
  if (!r.sched_error.empty()) fmt::print(stderr, "gorepro: {}\n", r.sched_error);
  if (!r.trace_closed) fmt::print(stderr, "gorepro: {}\n", r.close_error);
  // A trigger's message was printed when it fired (a launched program then runs on).
  if (r.how != How::kExited && r.how != How::kTrigger) fmt::print(stderr, "gorepro: {}\n", r.message);
  if (r.ring && r.trace_closed) {
    const replay::RingStats& w = r.window;
    fmt::print(stderr, "gorepro: flight recorder: the last {:.1f} s of the recording written to {} ({} events, "
               "{} bytes, {} goroutines alive at the window's start; {} earlier events left out){}\n",
               static_cast<double>(w.window_end_ns - w.window_start_ns) / 1e9, r.trace_path, w.window_events,
               w.file_bytes, w.preexisting, w.dropped_events,
               r.dumps.empty() ? "" : fmt::format("; {} dumps asked by SIGUSR1", r.dumps.size()));
  } else {
    fmt::print(stderr, "gorepro: {} events{} written to {}\n", r.events_written,
               r.preexisting ? fmt::format(" ({} goroutines found at attach)", r.preexisting) : "", r.trace_path);
  }
  if (r.stats.lost) {
    fmt::print(stderr, "gorepro: warning: {} events were lost (the backend had no room for them); `report` says "
               "which goroutines' histories are incomplete\n", r.stats.lost);
  }
  if (r.stats.read_failures) {
    fmt::print(stderr, "gorepro: warning: {} probe hits could not be decoded (target memory unreadable)\n",
               r.stats.read_failures);
  }
  if (r.stats.snapshots) {
    fmt::print(stderr, "gorepro: {} goroutine snapshots, each read in {:.2f} ms on average (longest {:.2f} ms) "
               "without stopping the program; {} redone because the goroutine list grew meanwhile{}; the trace is "
               "sampled: what happened between two snapshots is not in it\n", r.stats.snapshots,
               static_cast<double>(r.stats.snapshot_read_ns) / static_cast<double>(r.stats.snapshots) / 1e6,
               static_cast<double>(r.stats.snapshot_max_read_ns) / 1e6, r.stats.snapshot_retries,
               r.stats.snapshots_dropped ? fmt::format(", {} dropped (the program was exiting)", r.stats.snapshots_dropped)
                                         : "");
  }
  if (r.stats.unemulated_steps) {
    fmt::print(stderr, "gorepro: warning: {} probe hits were stepped over with the breakpoint lifted; "
               "hits on other threads at those instants may be missing\n", r.stats.unemulated_steps);
  }
  if (r.stats.settle_timeouts || r.stats.settle_blocked) {
    fmt::print(stderr, "gorepro: note: {} of the runtime's goroutine reads went ahead before a change gorepro had "
               "recorded for that goroutine landed ({} waited 20 ms for its thread to run, {} found its thread held "
               "in one of gorepro's own stops); `correlate` may list them\n",
               r.stats.settle_timeouts + r.stats.settle_blocked, r.stats.settle_timeouts, r.stats.settle_blocked);
  }
  if (r.stats.capped_dumps) {
    fmt::print(stderr, "gorepro: note: {} dumps listed more than {} goroutines (the runtime lists dead ones too); "
               "past the {}th the runtime's reads were not stopped at, and `correlate` checks those lines at any "
               "instant of their dump\n", r.stats.capped_dumps, tracer::EventDecoder::kSchedReadsPerDump,
               tracer::EventDecoder::kSchedReadsPerDump);
  }
  if (r.schedtrace) {
    fmt::print(stderr, "gorepro: {} schedtrace samples recorded{}{}{}\n", r.sched_samples,
               r.sched_interleaved
                   ? fmt::format(", {} interleaved with other output (passed through, not recorded)", r.sched_interleaved)
                   : "",
               r.sched_cut_short ? "; the program exited in the middle of the last one" : "",
               r.sched_whole_stderr ? " (the program's whole stderr went through gorepro)" : "");
    if (r.sched_paced_max_ms) {
      fmt::print(stderr, "gorepro: note: dumps took up to {:.0f} ms, so the runtime's dump interval was stretched from "
                 "{} ms up to {} ms ({} changes; the program keeps at least {:.0f}% of the time)\n",
                 static_cast<double>(r.sched_longest_dump_ns) / 1e6, r.sched_asked_ms, r.sched_paced_max_ms,
                 r.sched_pace_changes, tracer::SchedPacer::kProgramShare * 100);
    }
    if (!r.sched_pace_off.empty()) {
      fmt::print(stderr, "gorepro: note: dumps were not paced ({}); the longest took {:.0f} ms\n", r.sched_pace_off,
                 static_cast<double>(r.sched_longest_dump_ns) / 1e6);
    }
  }
  if (r.verdicts) {
    fmt::print(stderr, "gorepro: verdicts: {} goroutines leaked, {} waiting on time/I/O, {} may still wake "
               "(scan {:.2f} s, {:.0f} MiB; the program was stopped meanwhile)\n", r.verdicts->leaked,
               r.verdicts->time_io, r.verdicts->may_wake, static_cast<double>(r.verdicts->scan_ns) / 1e9,
               static_cast<double>(r.verdicts->bytes_scanned) / (1 << 20));
  } else if (!r.verdict_error.empty()) {
    fmt::print(stderr, "gorepro: {}\n", r.verdict_error);
  }
  fmt::print(stderr, "gorepro: see the leaks with: gorepro report {}\n", r.trace_path);
}

// What the guardian did when the recording process died attached (nothing to say otherwise).
void print_guardian_report(const tracer::GuardedRun& run, pid_t pid) {
  if (!run.killed_by && !run.rescued) return;
  const std::string how = run.killed_by ? fmt::format("was killed by signal {} ({})", run.killed_by,
                                                      strsignal(run.killed_by))
                                        : fmt::format("exited ({}) without detaching", run.exit_code);
  if (!run.rescued) {
    fmt::print(stderr, "gorepro: the recording process (pid {}) {}; it had left nothing in pid {}; the trace may "
               "end early\n", run.recorder, how, pid);
    return;
  }
  std::string done = fmt::format("wrote {} bytes of its code back ({} were back already) {} µs after it saw it die",
                                 run.bytes_restored, run.bytes_already, run.write_back_us);
  if (run.traps_caught) done += fmt::format(", caught {} threads in a breakpoint", run.traps_caught);
  if (run.froze) {
    done += fmt::format(", stopped the program for a moment (SIGSTOP, SIGCONT) to put back {} thread{} it had left "
                        "in a breakpoint ({} from the entry of the program's SIGTRAP handler)",
                        run.threads_put_back, run.threads_put_back == 1 ? "" : "s", run.frames_undone);
  }
  if (!run.rescue_error.empty()) done += "; " + run.rescue_error;
  fmt::print(stderr, "gorepro: the recording process (pid {}) {} while attached to pid {}; gorepro {}; pid {} {}; "
             "the trace may end early\n", run.recorder, how, pid, done, pid,
             run.program_alive ? "runs on" : "did not survive (see docs/tracer-death.md)");
}

// --binary PATH --all: every process running PATH, each into a trace of its own (ebpf only).
int run_record_all(const RecordCliOptions& o) {
  if (o.binary.empty() || !o.all) {
    return fail(make_error(o.all ? "--all needs --binary PATH" : "--binary needs --all",
                           "use `gorepro record --backend ebpf --binary PATH --all`"), 2);
  }
  if (o.pid || !o.command.empty() || o.schedtrace) {
    return fail(make_error("--all records every process running --binary: give no --pid, program or --schedtrace",
                           "use `gorepro record --backend ebpf --binary PATH --all`"), 2);
  }
  if (!o.until.empty() || !o.metrics.empty() || !o.ring.empty()) {
    return fail(make_error("--until, --metrics and --ring are for one recording; --all records many processes at once",
                           "record one process with --pid and --until"), 2);
  }
  if (o.backend != "ebpf") {
    return fail(make_error("--all needs the ebpf backend (one set of uprobes serves every process)",
                           "add --backend ebpf, or record one process with --pid"), 2);
  }
#ifndef GOREPRO_HAVE_BPF
  return fail(make_error("this gorepro was built without the ebpf backend (clang or bpftool were missing)",
                         "install clang and bpftool (scripts/setup.sh) and rebuild"), 2);
#else
  bpf::AllRequest r;
  r.binary_path = o.binary;
  r.output = o.output;
  r.stack_depth = o.stack_depth;
  r.probes.probe_execute = o.probe_execute;
  r.probes.probe_states = o.probe_states;
  r.status_line = !o.quiet;
  if (!o.duration.empty()) {
    r.duration_ns = replay::parse_duration(o.duration);
    if (!r.duration_ns || *r.duration_ns == 0) {
      return fail(make_error(fmt::format("invalid --duration '{}'", o.duration), "use a Go duration such as 30s"), 2);
    }
  }
  if (!o.ring_size.empty()) {
    auto bytes = parse_ring_size(o.ring_size);
    if (!bytes) return fail(bytes.error(), 2);
    r.ring_bytes = *bytes;
  }
  auto binary = GoBinary::open(o.binary);
  if (!binary) return fail(binary.error(), 1);
  tracer::RecordSignals signals;
  auto result = bpf::record_all(**binary, r, [] { return tracer::RecordSignals::stop_requested(); });
  if (!result) return fail(result.error(), 1);
  fmt::print(stderr, "gorepro: {}; {} processes recorded\n", result->how, result->processes.size());
  int code = 0;
  for (const auto& p : result->processes) {
    std::string fate = p.exited ? "; it exited" : p.execed ? "; it called exec" : "";
    fmt::print(stderr, "gorepro: pid {}: {} events{}{} written to {}{}\n", p.pid, p.events,
               p.preexisting ? fmt::format(" ({} goroutines found at attach)", p.preexisting) : "",
               p.lost ? fmt::format(", {} lost", p.lost) : "", p.trace_path, fate);
    if (!p.error.empty()) {
      fmt::print(stderr, "gorepro: pid {}: {}\n", p.pid, p.error);
      code = 1;
    }
  }
  if (result->stats.lost) {
    fmt::print(stderr, "gorepro: warning: {} events were lost (the ring buffer had no room for them){}; `report` says "
               "which goroutines' histories are incomplete\n", result->stats.lost,
               result->lost_unattributed ? fmt::format(", {} of them in no known process", result->lost_unattributed) : "");
  }
  if (result->processes.empty()) fmt::print(stderr, "gorepro: no process ran {} while recording\n", o.binary);
  return code;
#endif
}

// --snapshot INTERVAL: its interval, or a usage error for it or for what it cannot go with.
Result<uint64_t> snapshot_interval(const RecordCliOptions& o) {
  auto ns = replay::parse_duration(o.snapshot);
  if (!ns || *ns < 1'000'000) {
    return make_error(fmt::format("invalid --snapshot interval '{}'", o.snapshot),
                      "use a Go duration of at least 1ms, e.g. --snapshot 1s or --snapshot 100ms");
  }
  const char* other = o.backend_given ? "--backend" : o.probe_execute ? "--probe-execute" : o.probe_states ? "--probe-states"
                      : o.schedtrace ? "--schedtrace" : !o.ring_size.empty() ? "--ring-size" : o.all ? "--all" : nullptr;
  if (other) {
    return make_error(fmt::format("--snapshot places no probes and cannot go with {}", other),
                      fmt::format("record either with --snapshot (sampled, nearly free) or with {} (every event)", other));
  }
  return *ns;
}

int run_record(const RecordCliOptions& o) {
  BackendTuning tuning;
  std::string backend_name = o.backend;
  if (!o.snapshot.empty()) {
    auto interval = snapshot_interval(o);
    if (!interval) return fail(interval.error(), 2);
    tuning.snapshot_interval_ns = *interval;
    backend_name = "snapshot";
  }
  if (o.all || !o.binary.empty()) return run_record_all(o);
  auto request = request_of(o);
  if (!request) return fail(request.error(), 2);
  // The binary first: a non-Go program or unsupported version is refused before anything runs.
  auto binary = tracer::open_target_binary(*request);
  if (!binary) return fail(binary.error(), 1);
  if (!o.ring_size.empty()) {
    auto bytes = parse_ring_size(o.ring_size);
    if (!bytes) return fail(bytes.error(), 2);
    tuning.ring_bytes = *bytes;
  }
  auto backend = make_backend(backend_name, **binary, tuning);
  if (!backend) return fail(backend.error(), 2);
  auto record_here = [&] {
    tracer::RecordSignals signals;
    auto result = tracer::record(**backend, **binary, *request);
    if (!result) return fail(result.error(), 1);
    print_summary(*result);
    return result->exit_code();
  };
  // A launched program dies with gorepro (PTRACE_O_EXITKILL, as under rr); an attached one must
  // not, so a backend that would leave something behind records in a guarded child process.
  if (!request->pid || (*backend)->caps().survives_tracer_death) return record_here();
  auto table = tracer::GuardTable::create();
  if (!table) return fail(table.error(), 1);
  (*backend)->guard_bytes(**table);
  auto run = tracer::run_guarded(request->pid, **table, record_here);
  if (!run) return fail(run.error(), 1);
  print_guardian_report(*run, request->pid);
  return run->killed_by || run->rescued ? 1 : run->exit_code;
}

}  // namespace

void add_record_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<RecordCliOptions>();
  CLI::App* cmd = app.add_subcommand("record", "Record goroutine lifecycles of a Go program into a .gtr trace");
  cmd->footer(
      "Examples:\n"
      "  gorepro record -o leak.gtr -- ./server --port 0\n"
      "  gorepro record --pid 4242 --duration 30s\n"
      "  gorepro record --backend ebpf --pid 4242        # production: nothing stops, survives kill -9\n"
      "  gorepro record --backend ebpf --binary /usr/bin/server --all -o s.gtr\n"
      "  gorepro record --snapshot 1s --pid 4242          # sampled: no probes, no stops, any event rate\n"
      "  gorepro record --until 'site=main.go:42 alive>500' -- ./server\n"
      "  gorepro record --ring 5m --ring 500MB --pid 4242    # flight recorder: keep the last 5 min\n"
      "Launched programs run until they exit; gorepro then exits with their status (after --duration or\n"
      "--until, gorepro detaches, lets the program run on and waits for it). A launched program\n"
      "is killed if gorepro is killed (PTRACE_O_EXITKILL, as under rr) — except with --snapshot, which\n"
      "never traces it: it runs on.\n"
      "Attached programs are detached after --duration, --until, Ctrl-C or SIGTERM and keep running. They also\n"
      "survive gorepro being killed, even by SIGKILL: gorepro records in a child process that then\n"
      "detaches cleanly, and if that child is killed, gorepro puts back the program's code\n"
      "(docs/tracer-death.md says what a killed child can still cost the program).\n"
      "--schedtrace works only for launched programs (GODEBUG is read at start); for attached ones,\n"
      "capture the program's stderr yourself and use `gorepro correlate TRACE --schedtrace-log FILE`.");
  cmd->add_option("-o,--output", o->output, "Trace file to write (default: gorepro-PROGRAM-PID.gtr)");
  cmd->add_option("--backend", o->backend, "How to observe the program: " + backend_help())
      ->check(CLI::IsMember(backend_names()))
      ->capture_default_str();
  cmd->add_option("-p,--pid", o->pid, "Attach to this running Go process instead of launching one");
  cmd->add_option("-d,--duration", o->duration, "Stop recording (and detach) after this long, e.g. 30s");
  cmd->add_option("--until", o->until,
                  fmt::format("Stop recording (and detach, as --duration does) once CONDITION holds for the goroutines "
                              "recorded so far, e.g. 'live>10000', 'site=main.go:42 alive>500', "
                              "'growth main.go:42 > 100/s' (the grammar of `check --fail-if`, docs/predicates.md; "
                              "leaked/alive count now). Checked every {} ms while events arrive: it fires at most "
                              "{} ms after the event that made it true, and says when and why",
                              tracer::kTriggerCheckNs / 1'000'000,
                              (tracer::kTriggerCheckNs + tracer::kPollLatenessNs) / 1'000'000));
  cmd->add_option("--metrics", o->metrics,
                  fmt::format("Serve live counts at http://HOST:PORT/metrics in Prometheus text format while "
                              "recording, e.g. --metrics 127.0.0.1:9464: goroutines alive per go statement, state and "
                              "wait reason (gorepro_goroutines{{go_statement=\"main.go:42\",function=...,"
                              "state=...}}), creations per go statement, events, events/s, events lost, trace bytes; "
                              "refreshed every {} ms, one scrape answered at a time",
                              tracer::kMetricsRefreshNs / 1'000'000))
      ->type_name("HOST:PORT");
  cmd->add_flag("-q,--quiet", o->quiet, "No live status line on stderr");
  cmd->add_flag("--no-verdict", o->no_verdict,
                "Skip the leak verdicts: by default the ptrace and gdb backends stop the program at its exit "
                "(ptrace: at exit_group; gdb: a breakpoint at runtime.exit, before its exit_group) or before "
                "detaching, and scan its heap to tell leaked goroutines (can never wake) from waiting ones. "
                "The ebpf backend takes no verdicts (it never stops the program)");
  cmd->add_option("--stack-depth", o->stack_depth, "Frames kept per creation/block stack")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_flag("--probe-execute", o->probe_execute,
                "Also stop where every goroutine starts running (catches rare wake paths; slower)");
  cmd->add_flag("--probe-states", o->probe_states,
                "Also stop at every switch between running, runnable and system call, so the trace knows all "
                "four goroutine states (includes --probe-execute; two more stops per system call; implied by "
                "--schedtrace)");
  CLI::Option* schedtrace = cmd->add_option("--schedtrace", o->schedtrace_ms,
                  "Record the Go runtime's scheduler dump every MS milliseconds (default 100) into the trace, "
                  "via GODEBUG=schedtrace; use --schedtrace=MS or put -- before the program. Bound: the runtime "
                  "stops the program for the whole of each dump, so when a dump takes longer than "
                  + fmt::format("{:.0f}% of MS, gorepro lengthens the runtime's interval to the dump's time x {:g} "
                  "(the program keeps at least {:.0f}% of the time; the trace notes each change)",
                  (1 - tracer::SchedPacer::kProgramShare) * 100, 1 / (1 - tracer::SchedPacer::kProgramShare),
                  tracer::SchedPacer::kProgramShare * 100))
      ->expected(0, 1);
  cmd->add_flag("--scheddetail", o->scheddetail,
                fmt::format("With --schedtrace: every P, M and goroutine in each dump (GODEBUG=scheddetail=1); needed "
                            "by `gorepro correlate` to check goroutine states. Bound: gorepro stops the dumping thread "
                            "at the first {} goroutine lines of a dump at most (the runtime lists dead goroutines "
                            "too); later lines are read without a stop and checked at any instant of their dump",
                            tracer::EventDecoder::kSchedReadsPerDump));
  cmd->add_flag("--show-schedtrace", o->show_schedtrace, "With --schedtrace: also show the SCHED lines on stderr");
  cmd->add_flag("--schedtrace-fixed", o->schedtrace_fixed,
                "With --schedtrace: keep the interval MS even when dumps take longer than that (the program may "
                "then run only between dumps: 20,000 goroutine lines take ~0.2 s per dump)");
  cmd->add_option("--ring-size", o->ring_size,
                  "ebpf: size of the ring buffer the probes write into (a power of two, e.g. 64M; default 16M); "
                  "events it has no room for are counted as lost and named in the trace");
  cmd->add_option("--ring", o->ring,
                  "Flight recorder: keep only the last WINDOW of the recording — a time (5m, 30s), a size (500MB, "
                  "1GB; KB/MB/GB are powers of 1024), or both (--ring 5m --ring 500MB) — in memory, in whole chunks "
                  "(64 KiB or 250 ms each), so memory and the trace stay bounded for hours. The trace (-o) is "
                  "written when the recording ends (the program exits, --duration, --until, Ctrl-C, SIGTERM): the "
                  "goroutines alive at the window's start are in it as found at attach, and it says where the "
                  "window starts. SIGUSR1 writes the current window to TRACE.1.gtr, TRACE.2.gtr, ... and recording "
                  "goes on. A killed gorepro leaves only the header (docs/ring.md). Not with --schedtrace")
      ->type_name("WINDOW")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--snapshot", o->snapshot,
                  "Sample instead of tracing: no probes; every INTERVAL (e.g. 1s, 100ms) read the goroutine list "
                  "(status, wait reason, creation site, parent, stack of each newly blocked one) with "
                  "process_vm_readv while the program runs — it is never stopped or written to, and runs on if "
                  "gorepro dies. Costs one read of each goroutine per interval (1-3 µs each: 1 ms for 1000 goroutines, 0.3 s for "
                  "100 000) and nothing per event; the program is slowed only by sharing the CPU with that. Cannot see what happens between two snapshots: goroutines that come and go, parks and "
                  "wakes, who woke whom; `report` says the trace is sampled")
      ->type_name("INTERVAL");
  cmd->add_option("--binary", o->binary, "With --all: the executable whose processes to record");
  cmd->add_flag("--all", o->all,
                "ebpf: record every process running --binary, now and while recording, each into its own trace "
                "(-o FILE.gtr writes FILE-PID.gtr); ends at --duration, Ctrl-C or SIGTERM");
  cmd->add_option("command", o->command, "PROGRAM ARGS... to launch (after --)");
  CLI::Option* backend_opt = cmd->get_option("--backend");
  cmd->callback([o, schedtrace, backend_opt, &exit_code] {
    o->schedtrace = schedtrace->count() > 0;
    o->backend_given = backend_opt->count() > 0;
    exit_code = run_record(*o);
  });
}

}  // namespace gorepro::cli
