#include "repro/repro.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
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
  if (auto p = replay::Predicate::parse(r.until); !p) return p.error();
  if (r.output_dir.empty()) return make_error("empty output directory", "give -o DIR");
  return Ok{};
}

Result<ReproResult> repro(const ReproRequest& request, const BackendFactory& make_backend, const ReproHooks& hooks) {
  if (auto st = validate(request); !st) return st.error();
  auto until = replay::Predicate::parse(request.until);
  auto leaked = replay::Predicate::parse("leaked>0");
  GOREPRO_CHECK(until && leaked, "validated conditions parse");

  tracer::RecordRequest base;
  base.command = request.command;
  base.stack_depth = request.stack_depth;
  base.status_line = false;
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
  const fs::path run_trace = dir / "run.gtr.partial", run_out = dir / "run.stdout.partial",
                 run_err = dir / "run.stderr.partial";
  auto clean_up = [&] {
    std::error_code ignored;
    for (const auto& p : {run_trace, run_out, run_err}) fs::remove(p, ignored);
    if (!dir_existed) fs::remove(dir, ignored);  // only when empty
  };

  const std::vector<int> cpus = usable_cpus();
  ReproResult result;
  const uint64_t started = tracer::monotonic_ns();
  for (uint64_t i = 0; i < request.runs; i++) {
    const uint64_t seed = request.seed.value_or(run_seed(request.base_seed, i));
    const ChaosPlan plan = ChaosPlan::from_seed(seed, cpus);
    if (hooks.progress) {
      const double s = static_cast<double>(tracer::monotonic_ns() - started) / 1e9;
      hooks.progress({i, request.runs, s > 0 ? static_cast<double>(i) / s : 0, result.leaks_seen, seed});
    }
    auto out = open_output(run_out);
    if (!out) return clean_up(), out.error();
    Fd out_fd{*out};
    auto err = open_output(run_err);
    if (!err) return clean_up(), err.error();
    Fd err_fd{*err};

    tracer::RecordRequest rr = base;
    rr.output = run_trace.string();
    rr.fds = {{1, out_fd.fd}, {2, err_fd.fd}};
    ChaosPerturber perturber(plan);
    auto backend = make_backend(**binary);
    if (!backend) return clean_up(), backend.error();
    if (request.perturb) {
      if (!(*backend)->caps().perturb) {
        clean_up();
        return make_error(fmt::format("the {} backend cannot hold a thread at its stops", (*backend)->name()),
                          "use --backend ptrace");
      }
      if (plan.gomaxprocs) rr.env_overrides.push_back(fmt::format("GOMAXPROCS={}", plan.gomaxprocs));
      rr.cpus = plan.cpus;
      (*backend)->set_perturber(&perturber);
    }
    auto rec = tracer::record(**backend, **binary, rr);
    backend->reset();
    if (!rec) return clean_up(), rec.error();
    using How = tracer::RecordResult::How;
    if (rec->how == How::kFailed || rec->how == How::kSinkFailed || !rec->trace_closed) {
      clean_up();
      return make_error(fmt::format("run {} (seed {}) could not be recorded: {}", i + 1, seed,
                                    rec->trace_closed ? rec->message : rec->close_error),
                        "see `gorepro record` on the same program");
    }
    if (rec->how == How::kStopped) {
      clean_up();
      return make_error(fmt::format("stopped on request after {} runs", i), "");
    }
    RunOutcome run;
    run.number = i + 1;
    run.seed = seed;
    run.plan = request.perturb ? plan.describe() : "no perturbation";
    run.holds_made = perturber.holds();
    run.exit = rec->exit;
    auto holds = holds_on(run_trace, *until);
    if (!holds) return clean_up(), holds.error();
    auto leak = holds_on(run_trace, *leaked);
    if (!leak) return clean_up(), leak.error();
    run.holds = holds->holds;
    run.leaked = leak->holds;
    run.explanation = holds->explanation;
    result.runs_done = i + 1;
    if (run.leaked) result.leaks_seen++;
    if (hooks.run_done) hooks.run_done(run);
    // A terminal's Ctrl-C reached the program too (same process group): end the search.
    if (rec->exit && (rec->exit->signal == SIGINT || rec->exit->signal == SIGTERM) && !run.holds) {
      clean_up();
      return make_error(fmt::format("interrupted after {} runs (the program was ended by signal {})", i + 1,
                                    rec->exit->signal), "");
    }
    if (run.holds) {
      result.reproduced = true;
      result.found = run;
      result.trace_path = (dir / fmt::format("repro-{}.gtr", seed)).string();
      result.stdout_path = (dir / fmt::format("repro-{}.stdout", seed)).string();
      result.stderr_path = (dir / fmt::format("repro-{}.stderr", seed)).string();
      fs::rename(run_trace, result.trace_path, ec);
      if (!ec) fs::rename(run_out, result.stdout_path, ec);
      if (!ec) fs::rename(run_err, result.stderr_path, ec);
      if (ec) return make_error(fmt::format("cannot keep the run's files in {}: {}", dir.string(), ec.message()), "");
      break;
    }
  }
  result.seconds = static_cast<double>(tracer::monotonic_ns() - started) / 1e9;
  if (!result.reproduced) clean_up();
  return result;
}

}  // namespace gorepro::repro
