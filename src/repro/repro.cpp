#include "repro/repro.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "replay/trace_session.h"

namespace gorepro::repro {

namespace fs = std::filesystem;

namespace {

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

Result<int> open_output(const fs::path& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return make_error(fmt::format("cannot write {}: {}", path.string(), std::strerror(errno)),
                      "choose another output directory with -o");
  }
  return fd;
}

// Whether `text` holds on the trace; warnings are dropped (the kept trace can be `check`ed).
Result<replay::PredicateOutcome> holds_on(const fs::path& trace, const replay::Predicate& p) {
  std::vector<std::string> warnings;
  return replay::hold_predicate(trace.string(), "", p, warnings);
}

}  // namespace

std::vector<int> usable_cpus() {
  std::vector<int> out;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    for (int c = 0; c < CPU_SETSIZE; c++) {
      if (CPU_ISSET(c, &set)) out.push_back(c);
    }
  }
  return out;
}

Status validate(const ReproRequest& r) {
  if (r.command.empty()) {
    return make_error("no program to run", "put the program and its arguments after --: gorepro repro -- ./prog ARGS");
  }
  if (r.runs == 0) return make_error("--runs 0 runs nothing", "give --runs 1 or more");
  if (r.jobs == 0 || r.jobs > 64) {
    return make_error(fmt::format("--jobs {} is out of range", r.jobs), "give --jobs between 1 and 64 (about one per CPU)");
  }
  if (auto p = replay::Predicate::parse(r.until); !p) return p.error();
  if (r.output_dir.empty()) return make_error("empty output directory", "give -o DIR");
  if (r.confirm > 20) {
    return make_error(fmt::format("--confirm {} is out of range", r.confirm),
                      "give --confirm between 0 (print the first seed found) and 20");
  }
  return Ok{};
}

namespace {

// What every run of one search shares.
struct Search {
  const ReproRequest& request;
  const BackendFactory& make_backend;
  const GoBinary& binary;
  const tracer::RecordRequest& base;
  const replay::Predicate& until;
  const replay::Predicate& leaked;
  std::vector<int> cpus;
};

// The files one run writes while it runs; the finding run's are renamed, the others removed.
struct RunFiles {
  fs::path trace, out, err;
  void remove() const {
    std::error_code ignored;
    for (const auto& p : {trace, out, err}) fs::remove(p, ignored);
  }
};

RunFiles run_files(const fs::path& dir, uint64_t number) {
  const std::string stem = number ? fmt::format("run-{}", number) : "run";
  return {dir / (stem + ".gtr.partial"), dir / (stem + ".stdout.partial"), dir / (stem + ".stderr.partial")};
}

struct RunReport {
  RunOutcome outcome;
  bool interrupted = false;  // the program was ended by SIGINT/SIGTERM (a terminal's Ctrl-C)
};

// Run `index` (0-based) of the search: one whole recording under its seed's perturbation, and
// the conditions held against its trace.
Result<RunReport> run_once(const Search& s, uint64_t index, uint64_t seed, const RunFiles& files) {
  const ReproRequest& request = s.request;
  const ChaosPlan plan = ChaosPlan::from_seed(seed, s.cpus);
  auto out = open_output(files.out);
  if (!out) return out.error();
  Fd out_fd{*out};
  auto err = open_output(files.err);
  if (!err) return err.error();
  Fd err_fd{*err};

  tracer::RecordRequest rr = s.base;
  rr.output = files.trace.string();
  rr.fds = {{1, out_fd.fd}, {2, err_fd.fd}};
  ChaosPerturber perturber(plan);
  auto backend = s.make_backend(s.binary);
  if (!backend) return backend.error();
  if (request.perturb) {
    if (!(*backend)->caps().perturb) {
      return make_error(fmt::format("the {} backend cannot hold a thread at its stops", (*backend)->name()),
                        "use --backend ptrace");
    }
    if (plan.gomaxprocs) rr.env_overrides.push_back(fmt::format("GOMAXPROCS={}", plan.gomaxprocs));
    rr.cpus = plan.cpus;
    (*backend)->set_perturber(&perturber);
  }
  auto rec = tracer::record(**backend, s.binary, rr);
  backend->reset();
  if (!rec) return rec.error();
  using How = tracer::RecordResult::How;
  if (rec->how == How::kFailed || rec->how == How::kSinkFailed || !rec->trace_closed) {
    return make_error(fmt::format("run {} (seed {}) could not be recorded: {}", index + 1, seed,
                                  rec->trace_closed ? rec->message : rec->close_error),
                      "see `gorepro record` on the same program");
  }
  if (rec->how == How::kStopped) return make_error(fmt::format("stopped on request during run {}", index + 1), "");
  RunReport report;
  RunOutcome& run = report.outcome;
  run.number = index + 1;
  run.seed = seed;
  run.plan = request.perturb ? plan.describe() : "no perturbation";
  run.holds_made = perturber.holds();
  run.exit = rec->exit;
  auto holds = holds_on(files.trace, s.until);
  if (!holds) return holds.error();
  auto leak = holds_on(files.trace, s.leaked);
  if (!leak) return leak.error();
  run.holds = holds->holds;
  run.leaked = leak->holds;
  run.explanation = holds->explanation;
  report.interrupted = rec->exit && (rec->exit->signal == SIGINT || rec->exit->signal == SIGTERM);
  return report;
}

// A --jobs worker's answer to its parent, through a pipe: length-prefixed fields, so any byte
// of an explanation or error survives.
void put(std::string& buf, const std::string& field) { buf += fmt::format("{}:", field.size()) + field; }
bool take(std::string_view& buf, std::string& field) {
  const size_t colon = buf.find(':');
  if (colon == std::string_view::npos) return false;
  size_t n = 0;
  for (char c : buf.substr(0, colon)) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<size_t>(c - '0');
  }
  if (buf.size() - colon - 1 < n) return false;
  field.assign(buf.substr(colon + 1, n));
  buf.remove_prefix(colon + 1 + n);
  return true;
}

std::string encode(const Result<RunReport>& r) {
  std::string buf;
  if (!r) {
    put(buf, "error");
    put(buf, r.error().what);
    put(buf, r.error().hint);
    return buf;
  }
  const RunOutcome& o = r->outcome;
  put(buf, "ok");
  put(buf, fmt::format("{} {} {} {} {} {}", int(o.holds), int(o.leaked), o.holds_made, int(o.exit.has_value()),
                       o.exit ? o.exit->exit_status : 0, o.exit ? o.exit->signal : 0));
  put(buf, int(r->interrupted) ? "1" : "0");
  put(buf, o.plan);
  put(buf, o.explanation);
  return buf;
}

Result<RunReport> decode(std::string_view buf, uint64_t index, uint64_t seed) {
  std::string tag, a, b, c, d;
  auto garbled = [&] {
    return make_error(fmt::format("run {} (seed {}): its worker process ended without an answer", index + 1, seed),
                      "rerun with --jobs 1 to see why");
  };
  if (!take(buf, tag)) return garbled();
  if (tag == "error") {
    if (!take(buf, a) || !take(buf, b)) return garbled();
    return make_error(a, b);
  }
  if (tag != "ok" || !take(buf, a) || !take(buf, b) || !take(buf, c) || !take(buf, d)) return garbled();
  RunReport r;
  RunOutcome& o = r.outcome;
  o.number = index + 1;
  o.seed = seed;
  int holds = 0, leaked = 0, has_exit = 0, status = 0, sig = 0;
  unsigned long long made = 0;
  if (std::sscanf(a.c_str(), "%d %d %llu %d %d %d", &holds, &leaked, &made, &has_exit, &status, &sig) != 6) {
    return garbled();
  }
  o.holds = holds;
  o.leaked = leaked;
  o.holds_made = made;
  if (has_exit) o.exit = tracer::TargetExit{status, sig};
  r.interrupted = b == "1";
  o.plan = c;
  o.explanation = d;
  return r;
}

// A run in a worker process of its own (--jobs): a ptrace tracer is a thread, and a thread's
// waitpid(-1) takes its sibling threads' tracees' stops too, so parallel recordings need
// processes. The worker dies with the search (PR_SET_DEATHSIG), and its program with it
// (PTRACE_O_EXITKILL): stopping a run is a SIGKILL to its worker.
struct Worker {
  pid_t pid = -1;
  int pipe_fd = -1;
  uint64_t index = 0;
  uint64_t seed = 0;
  RunFiles files;
  std::string answer;
};

Result<Worker> start_worker(const Search& s, uint64_t index, uint64_t seed, const RunFiles& files) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return make_error(fmt::format("cannot start run {}: pipe: {}", index + 1, std::strerror(errno)), "");
  }
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return make_error(fmt::format("cannot start run {}: fork: {}", index + 1, std::strerror(errno)),
                      "lower --jobs");
  }
  if (pid == 0) {
    ::close(fds[0]);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(2);  // the search died before the prctl
    const std::string answer = encode(run_once(s, index, seed, files));
    size_t done = 0;
    while (done < answer.size()) {
      const ssize_t n = ::write(fds[1], answer.data() + done, answer.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) ::_exit(2);
      done += static_cast<size_t>(n);
    }
    ::_exit(0);  // not exit(): the parent's atexit handlers and buffers are not ours
  }
  ::close(fds[1]);
  return Worker{pid, fds[0], index, seed, files, {}};
}

// Reads what a worker wrote until it closes its end (it is exiting).
void read_answer(Worker& w) {
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(w.pipe_fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    w.answer.append(buf, static_cast<size_t>(n));
  }
  ::close(w.pipe_fd);
  w.pipe_fd = -1;
}

void reap(pid_t pid) {
  int status;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace

Result<ReproResult> repro(const ReproRequest& request, const BackendFactory& make_backend, const ReproHooks& hooks) {
  if (auto st = validate(request); !st) return st.error();
  auto until = replay::Predicate::parse(request.until);
  auto leaked = replay::Predicate::parse("leaked>0");
  GOREPRO_CHECK(until && leaked, "validated conditions parse");

  tracer::RecordRequest base;
  base.command = request.command;
  base.stack_depth = request.stack_depth;
  base.status_line = false;
  // No heap scan per run: `leaked` keeps counting every goroutine blocked at the exit, as the
  // repro examples' `may leak` marks do. (Verdicts here would also cost a scan per run.)
  base.verdicts = false;
  // Where new goroutines first run is the perturbation's main lever (chaos.h).
  base.probes.probe_execute = request.perturb;
  auto binary = tracer::open_target_binary(base);
  if (!binary) return binary.error();

  const fs::path dir(request.output_dir);
  std::error_code ec;
  const bool dir_existed = fs::exists(dir, ec);
  if (!fs::create_directories(dir, ec) && ec) {
    return make_error(fmt::format("cannot create the output directory {}: {}", dir.string(), ec.message()),
                      "choose another one with -o DIR");
  }
  const Search search{request, make_backend, **binary, base, *until, *leaked, usable_cpus()};
  const bool parallel = request.jobs > 1;
  std::vector<Worker> workers;  // --jobs: the runs under way
  auto clean_up = [&] {
    for (Worker& w : workers) {  // stopped: the worker's death kills its program (EXITKILL)
      ::kill(w.pid, SIGKILL);
      if (w.pipe_fd >= 0) ::close(w.pipe_fd);
      reap(w.pid);
      w.files.remove();
    }
    workers.clear();
    if (!parallel) run_files(dir, 0).remove();
    std::error_code ignored;
    if (!dir_existed) fs::remove(dir, ignored);  // only when empty
  };

  ReproResult result;
  const uint64_t started = tracer::monotonic_ns();
  uint64_t next = 0;  // the next run to start; run i's seed depends on i only
  auto seed_of = [&](uint64_t i) { return request.seed.value_or(run_seed(request.base_seed, i)); };
  // A replay (--seed) measures itself with --runs; plain reruns have no seed to confirm.
  const uint64_t confirm = request.seed || !request.perturb ? 0 : request.confirm;
  auto show_progress = [&](uint64_t seed, uint64_t confirm_index) {
    if (!hooks.progress) return;
    const double s = static_cast<double>(tracer::monotonic_ns() - started) / 1e9;
    hooks.progress({result.runs_done, request.runs, s > 0 ? static_cast<double>(result.runs_done) / s : 0,
                    result.leaks_seen, seed, workers.size(), result.confirm_runs, confirm_index, confirm});
  };
  // A finished run, counted and shown. Returns an error to end the search with (a failed run,
  // or a terminal's Ctrl-C that reached the program too: same process group).
  auto count = [&](Result<RunReport>& report, bool confirming) -> Status {
    if (!report) return report.error();
    RunOutcome& run = report->outcome;
    run.confirming = confirming;
    result.runs_done++;
    if (confirming) result.confirm_runs++;
    if (run.leaked) result.leaks_seen++;
    if (hooks.run_done) hooks.run_done(run);
    if (report->interrupted && !run.holds) {
      return make_error(fmt::format("interrupted after {} runs (the program was ended by signal {})",
                                    result.runs_done, run.exit->signal), "");
    }
    return Ok{};
  };
  // Keeps a run's files as repro-SEED.*.
  auto keep = [&](const RunOutcome& run, const RunFiles& files) -> Result<KeptRun> {
    KeptRun k{run, (dir / fmt::format("repro-{}.gtr", run.seed)).string(),
              (dir / fmt::format("repro-{}.stdout", run.seed)).string(),
              (dir / fmt::format("repro-{}.stderr", run.seed)).string()};
    std::error_code rename_ec;
    fs::rename(files.trace, k.trace_path, rename_ec);
    if (!rename_ec) fs::rename(files.out, k.stdout_path, rename_ec);
    if (!rename_ec) fs::rename(files.err, k.stderr_path, rename_ec);
    if (rename_ec) {
      return make_error(fmt::format("cannot keep the run's files in {}: {}", dir.string(), rename_ec.message()), "");
    }
    return k;
  };
  // One run started and waited for on its own (confirm runs): in a worker process with --jobs
  // (this process never traces there), else here.
  auto run_alone = [&](uint64_t index, uint64_t seed) -> Result<RunReport> {
    if (!parallel) {
      const RunFiles files = run_files(dir, 0);
      auto r = run_once(search, index, seed, files);
      files.remove();
      return r;
    }
    auto w = start_worker(search, index, seed, run_files(dir, index + 1));
    if (!w) return w.error();
    bool stop_passed_on = false;
    int status = 0;
    while (::waitpid(w->pid, &status, 0) < 0) {
      if (errno != EINTR) break;
      if (tracer::RecordSignals::stop_requested() && !stop_passed_on) {
        ::kill(w->pid, SIGTERM);
        stop_passed_on = true;
      }
    }
    read_answer(*w);
    w->files.remove();
    return decode(w->answer, w->index, w->seed);
  };
  std::optional<KeptRun> first;  // the first run that held, kept whether its seed confirms or not
  // A run on which the condition held: keep it, and confirm its seed by rerunning it `confirm`
  // times (stopping at the first miss). Returns whether the search is over.
  auto found = [&](const RunOutcome& run, const RunFiles& files) -> Result<bool> {
    auto kept = keep(run, files);
    if (!kept) return kept.error();
    while (kept->confirm_tries < confirm && next < request.runs) {
      const uint64_t index = next++;
      show_progress(run.seed, kept->confirm_tries + 1);
      auto again = run_alone(index, run.seed);
      if (auto st = count(again, true); !st) return st.error();
      kept->confirm_tries++;
      if (!again->outcome.holds) break;
      kept->replays++;
    }
    if (kept->replays == confirm) {
      result.reproduced = result.confirmed = true;
      result.found = *kept;
      if (first && first->trace_path != kept->trace_path) result.unconfirmed = first;
      return true;
    }
    if (!first) {
      first = std::move(*kept);
    } else if (first->trace_path != kept->trace_path) {
      std::error_code ignored;  // only the first unconfirmed run is kept
      for (const auto& p : {kept->trace_path, kept->stdout_path, kept->stderr_path}) fs::remove(p, ignored);
    }
    return false;
  };

  if (!parallel) {
    while (next < request.runs) {
      const uint64_t index = next++;
      const uint64_t seed = seed_of(index);
      show_progress(seed, 0);
      const RunFiles files = run_files(dir, 0);
      auto report = run_once(search, index, seed, files);
      if (auto st = count(report, false); !st) return clean_up(), st.error();
      if (!report->outcome.holds) {
        files.remove();
        continue;
      }
      auto over = found(report->outcome, files);
      if (!over) return clean_up(), over.error();
      if (*over) break;
    }
  } else {
    bool stop_passed_on = false;
    for (;;) {
      while (workers.size() < request.jobs && next < request.runs && !stop_passed_on) {
        const uint64_t seed = seed_of(next);
        show_progress(seed, 0);
        // Per-run names: with one seed (--seed), parallel runs share it.
        auto w = start_worker(search, next, seed, run_files(dir, next + 1));
        if (!w) return clean_up(), w.error();
        workers.push_back(std::move(*w));
        next++;
      }
      if (workers.empty()) break;
      if (tracer::RecordSignals::stop_requested() && !stop_passed_on) {
        // A signal sent to this process only: pass it on to the runs, as `record` passes it to
        // its program; each run then ends with its program's exit and the search with it.
        for (Worker& w : workers) ::kill(w.pid, SIGTERM);
        stop_passed_on = true;
      }
      int status = 0;
      const pid_t pid = ::waitpid(-1, &status, 0);
      if (pid < 0) {
        if (errno == EINTR) continue;
        return clean_up(), make_error(fmt::format("waiting for the runs: {}", std::strerror(errno)), "");
      }
      auto it = std::find_if(workers.begin(), workers.end(), [&](const Worker& w) { return w.pid == pid; });
      if (it == workers.end()) continue;
      Worker w = std::move(*it);
      workers.erase(it);
      read_answer(w);
      auto report = decode(w.answer, w.index, w.seed);
      if (auto st = count(report, false); !st) {
        w.files.remove();
        return clean_up(), st.error();
      }
      if (!report->outcome.holds) {
        w.files.remove();
        continue;
      }
      // The first run to find it wins; the rest are stopped, their programs and files gone
      // (also while its seed is confirmed: confirm runs run alone).
      clean_up();
      auto over = found(report->outcome, w.files);
      if (!over) return clean_up(), over.error();
      if (*over) break;
    }
  }
  if (!result.reproduced && first) {
    // No seed confirmed: the first run that held is still the user's leak, trace and report.
    result.reproduced = true;
    result.found = std::move(*first);
  }
  result.seconds = static_cast<double>(tracer::monotonic_ns() - started) / 1e9;
  if (!result.reproduced) clean_up();
  return result;
}

}  // namespace gorepro::repro
