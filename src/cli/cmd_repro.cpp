// gorepro repro: rerun a program under seeded schedule perturbation until a condition holds on
// a run's trace. Wiring only: the search is repro::repro (src/repro/repro.h), the perturbation
// repro::ChaosPlan (src/repro/chaos.h); docs/repro.md is the user's guide.
#include <unistd.h>

#include <random>

#include <fmt/format.h>

#include "cli/backends.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "replay/trace_session.h"
#include "repro/repro.h"
#include "tracer/recorder.h"

namespace gorepro::cli {

namespace {

struct ReproCliOptions {
  uint64_t runs = 0;  // 0: 100, or 1 with --seed
  uint64_t jobs = 1;
  uint64_t confirm = 2;
  std::string until = "leaked>0";
  std::optional<uint64_t> seed;
  std::string output = "gorepro-repro";
  std::string backend = "ptrace";
  bool no_perturb = false;
  bool quiet = false;
  bool verbose = false;
  std::vector<std::string> command;
};

// A word as a POSIX shell reads it back.
std::string shell_quote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-") ==
                        std::string::npos) {
    return s;
  }
  std::string q = "'";
  for (char c : s) q += c == '\'' ? "'\\''" : std::string(1, c);
  return q + "'";
}

std::string replay_command(const ReproCliOptions& o, uint64_t seed) {
  std::string cmd = fmt::format("gorepro repro --seed {}", seed);
  if (o.until != "leaked>0") cmd += " --until " + shell_quote(o.until);
  if (o.backend != "ptrace") cmd += " --backend " + o.backend;
  cmd += " --";
  for (const auto& a : o.command) cmd += " " + shell_quote(a);
  return cmd;
}

int run_repro(const ReproCliOptions& o) {
  repro::ReproRequest r;
  r.command = o.command;
  r.until = o.until;
  r.seed = o.seed;
  r.runs = o.runs ? o.runs : o.seed ? 1 : 100;
  r.jobs = o.jobs;
  r.confirm = o.confirm;
  r.perturb = !o.no_perturb;
  r.output_dir = o.output;
  r.base_seed = std::random_device{}();
  if (auto st = repro::validate(r); !st) return fail(st.error(), 2);

  const bool status = !o.quiet && isatty(2);
  bool status_shown = false;
  repro::ReproHooks hooks;
  hooks.progress = [&](const repro::ReproProgress& p) {
    if (!status) return;
    const std::string running = p.running ? fmt::format(" ({} more under way)", p.running) : "";
    const std::string spent = p.confirm_runs ? fmt::format(" ({} confirming)", p.confirm_runs) : "";
    const std::string now = p.confirm_index ? fmt::format("confirming seed {} ({} of {})", p.seed, p.confirm_index, p.confirm)
                                            : fmt::format("starting seed {}", p.seed);
    fmt::print(stderr, "\r\x1b[Kgorepro repro: {} of {} runs done{}, {:.1f} runs/s, {} leak{} seen, {}{}", p.runs_done,
               p.runs, spent, p.runs_per_s, p.leaks_seen, p.leaks_seen == 1 ? "" : "s", now, running);
    status_shown = true;
  };
  hooks.run_done = [&](const repro::RunOutcome& run) {
    if (!o.verbose) return;
    if (status_shown) fmt::print(stderr, "\r\x1b[K");
    status_shown = false;
    fmt::print(stderr, "gorepro repro: run {} seed {}{}: {} — {}; {} holds{}\n", run.number, run.seed,
               run.confirming ? " (confirming)" : "", run.holds ? "HOLDS" : "no", run.explanation, run.holds_made,
               run.plan.empty() ? "" : " (" + run.plan + ")");
  };
  tracer::RecordSignals signals;  // Ctrl-C: the program gets it too and the run ends with it
  auto result = repro::repro(
      r, [&](const GoBinary& binary) { return make_backend(o.backend, binary); }, hooks);
  if (status_shown) fmt::print(stderr, "\r\x1b[K");
  if (!result) return fail(result.error(), 2);
  const char* what = o.no_perturb ? "plain reruns" : "perturbed runs";
  if (!result->reproduced) {
    fmt::print("gorepro repro: '{}' did not hold in {} {} ({:.1f} s, {} with a leak); no trace kept\n", r.until,
               result->runs_done, what, result->seconds, result->leaks_seen);
    return 1;
  }
  const repro::KeptRun& k = result->found;
  const repro::RunOutcome& f = k.run;
  fmt::print("gorepro repro: reproduced on run {} of {} (seed {}, {:.1f} s): '{}' holds: {}\n", f.number, r.runs, f.seed,
             result->seconds, r.until, f.explanation);
  // How far the printed seed can be trusted: the measured replay count, and what it cost.
  const uint64_t confirm = r.seed || !r.perturb ? 0 : r.confirm;
  if (confirm) {
    fmt::print("  {}: seed {} reproduced {}/{} (the run that found it and {} confirm run{}); {} runs in all, {} of "
               "them confirm runs\n",
               result->confirmed ? "confirmed" : "NOT confirmed", f.seed, 1 + k.replays, 1 + k.confirm_tries,
               k.confirm_tries, k.confirm_tries == 1 ? "" : "s", result->runs_done, result->confirm_runs);
    if (!result->confirmed) {
      fmt::print("  no seed reproduced {0}/{0} within {1} runs: the leak depends on timing no seed fixes; "
                 "its trace is kept, but the seed may not replay it (more --runs, or --confirm 0)\n",
                 1 + confirm, r.runs);
    }
  } else {
    fmt::print("  {} run{} in all\n", result->runs_done, result->runs_done == 1 ? "" : "s");
  }
  fmt::print("  perturbation: {}\n", f.plan);
  if (f.exit) {
    fmt::print("  the program {}\n", f.exit->signal ? fmt::format("was killed by signal {}", f.exit->signal)
                                                    : fmt::format("exited with status {}", f.exit->exit_status));
  }
  fmt::print("  trace: {}\n  its stdout: {}\n  its stderr: {}\n", k.trace_path, k.stdout_path, k.stderr_path);
  if (result->unconfirmed) {
    const repro::KeptRun& u = *result->unconfirmed;
    fmt::print("  also kept: the first run that held, run {} (seed {}, reproduced {}/{}): {}\n", u.run.number, u.run.seed,
               1 + u.replays, 1 + u.confirm_tries, u.trace_path);
  }
  fmt::print("  replay this perturbation: {}\n", replay_command(o, f.seed));
  std::vector<std::string> warnings;
  if (auto report = replay::report_trace(k.trace_path, "", {}, warnings)) {
    fmt::print("\n{}", replay::format_report_text(*report));
  }
  return 0;
}

}  // namespace

void add_repro_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<ReproCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "repro", "Rerun a program under seeded schedule perturbation until a leak (or a condition) shows up");
  cmd->footer(
      "Each run records the program (like `gorepro record`) while holding its threads at random stops for\n"
      "random times — after a goroutine is created (the parent waits), before a new goroutine first runs,\n"
      "before one runs again, after one parks or exits, before a wakeup takes effect; a held first run (and\n"
      "some held runs after a wakeup) lasts instead until the goroutine that created (woke) it has parked\n"
      "1-3 times (at most 50 ms; not with GOMAXPROCS=1) — and with a random GOMAXPROCS (default, 1, 2 or 4)\n"
      "and CPU affinity (every CPU, or one).\n"
      "Every choice comes from the run's seed (docs/repro.md). The program's output goes to files, its bytes, signals and exit status\n"
      "untouched. When the condition holds, the run's trace and output are kept in the output directory,\n"
      "the leak report is printed with the seed and the command that replays it. A found seed is printed as\n"
      "confirmed only after --confirm more runs under it all reproduced too (they count as runs); when none\n"
      "confirms within --runs, the first run that reproduced is kept and printed, marked NOT confirmed.\n"
      "Exit status: 0 reproduced (seed confirmed or not), 1 not within --runs (nothing kept), 2 usage error or gorepro failure.\n"
      "Examples:\n"
      "  gorepro repro -- ./server-test -test.run TestShutdown -test.count=1\n"
      "  gorepro repro --until 'site=main.go:42' --runs 500 -- ./prog\n"
      "  gorepro repro --seed 3141592 -- ./prog          # replay a run a search found\n"
      "  gorepro repro --jobs 2 -- ./prog                 # two runs at once (one per CPU)");
  cmd->add_option("-n,--runs", o->runs, "Give up after this many runs, confirm runs included (default 100; 1 with --seed)");
  cmd->add_option("--until", o->until,
                  "Stop when this condition holds on a run's trace, in the grammar of `check --fail-if` "
                  "(docs/predicates.md), e.g. 'site=main.go:42', \"reason='chan send'\", 'live>1000'")
      ->capture_default_str();
  cmd->add_option("-j,--jobs", o->jobs,
                  "Runs recorded at once, each in a process of its own; the first to reproduce wins and the "
                  "others are stopped (their programs killed). Run N's seed depends on N only")
      ->capture_default_str();
  cmd->add_option("--confirm", o->confirm,
                  "Rerun a found seed this many times before printing it; all must reproduce, or the search "
                  "goes on (0: print the first seed found). Not with --seed or --no-perturb")
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "Run with this seed's perturbation (as printed by a search) instead of new ones");
  cmd->add_option("-o,--output", o->output, "Directory for the reproducing run's trace and output (and the first find's, if its seed did not confirm)")
      ->capture_default_str();
  cmd->add_option("--backend", o->backend, "How to observe the program; only ptrace can perturb it")
      ->check(CLI::IsMember(backend_names()))
      ->capture_default_str();
  cmd->add_flag("--no-perturb", o->no_perturb,
                "Plain `record` reruns with no perturbation (a baseline: how often does the leak happen anyway?)");
  cmd->add_flag("-v,--verbose", o->verbose, "One line per run: its seed, perturbation and the condition's values");
  cmd->add_flag("-q,--quiet", o->quiet, "No live status line on stderr");
  cmd->add_option("command", o->command, "PROGRAM ARGS... to run (after --)");
  cmd->callback([o, &exit_code] { exit_code = run_repro(*o); });
}

}  // namespace gorepro::cli
