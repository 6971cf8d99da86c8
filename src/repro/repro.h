// Repro: `gorepro repro` — run a program again and again under `record`, each run under a
// different seeded perturbation of its schedule (ChaosPlan), until a condition (the grammar of
// `check --fail-if`, replay/predicate.h) holds on the run's trace or the runs are spent.
//
// Every run is a whole tracer::record of a launched program with its stdout and stderr written
// to files; the program's bytes, signals and exit status are its own — only when things happen
// changes. The run that makes the condition hold keeps its trace and output in the output
// directory; the others leave nothing behind.
//
// Confirming (ReproRequest::confirm = K): a seed is printed as the one that replays only after
// K more runs under it all made the condition hold again; the first run that held is kept even
// when its seed does not confirm, and the search goes on for one that does. Confirm runs are
// runs: they count against `runs` and in runs_done.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dwarf/go_binary.h"
#include "repro/chaos.h"
#include "replay/predicate.h"
#include "tracer/backend.h"
#include "tracer/recorder.h"
#include "util/result.h"

namespace gorepro::repro {

struct ReproRequest {
  std::vector<std::string> command;  // PROGRAM ARGS (PATH lookup like execvp)
  std::string until = "leaked>0";    // the condition that ends the search
  uint64_t runs = 100;               // at most this many runs
  uint64_t jobs = 1;                 // runs under way at once (each > 1 in a process of its own)
  std::optional<uint64_t> seed;      // every run with this seed (replaying a found one)
  uint64_t base_seed = 0;            // without seed: run i uses run_seed(base_seed, i)
  bool perturb = true;               // false: plain `record` reruns (bench/repro.sh's baseline)
  uint64_t confirm = 2;              // reruns of a found seed that must all hold (not with seed / !perturb)
  std::string output_dir = "gorepro-repro";
  int stack_depth = 32;
};

// Usage errors (exit status 2), before anything runs: the condition is parsed here.
Status validate(const ReproRequest& request);

struct RunOutcome {
  uint64_t number = 0;     // 1-based
  uint64_t seed = 0;
  bool confirming = false; // a rerun of a found seed, to confirm it replays
  bool holds = false;      // the condition held on this run's trace
  bool leaked = false;     // leaked>0 held (counted as "leaks seen" whatever the condition)
  std::string explanation; // the condition's values, as `check --fail-if` prints them
  std::string plan;        // ChaosPlan::describe()
  uint64_t holds_made = 0;
  std::optional<tracer::TargetExit> exit;  // the program's own exit
};

// A run whose trace (and the program's output) was kept, and how its seed's confirm runs went.
struct KeptRun {
  RunOutcome run;
  std::string trace_path, stdout_path, stderr_path;
  uint64_t confirm_tries = 0;  // confirm runs of its seed (they stop at the first miss)
  uint64_t replays = 0;        // of those, the runs where the condition held again
};

struct ReproResult {
  bool reproduced = false;  // the condition held on some run (its trace is kept)
  uint64_t runs_done = 0;   // every run, confirm runs included
  uint64_t leaks_seen = 0;
  uint64_t confirm_runs = 0;  // runs spent confirming seeds
  double seconds = 0;
  // When reproduced: the run whose seed is printed — the one that confirmed, or else (no seed
  // did, or confirming was off) the first run that held.
  KeptRun found;
  bool confirmed = false;
  // When a later seed confirmed: the first run that held, whose seed did not; kept too.
  std::optional<KeptRun> unconfirmed;
};

struct ReproProgress {
  uint64_t runs_done = 0;
  uint64_t runs = 0;
  double runs_per_s = 0;
  uint64_t leaks_seen = 0;
  uint64_t seed = 0;  // of the run starting now
  size_t running = 0; // runs under way besides it (--jobs)
  uint64_t confirm_runs = 0;  // spent so far
  uint64_t confirm_index = 0; // 1-based when the run starting now confirms `seed`, else 0
  uint64_t confirm = 0;       // of this many
};

using BackendFactory = std::function<Result<std::unique_ptr<tracer::Backend>>(const GoBinary&)>;

struct ReproHooks {
  std::function<void(const ReproProgress&)> progress;  // before each run starts
  std::function<void(const RunOutcome&)> run_done;     // after each run, in the order they finish
};

// Runs the search. Run i (0-based) has seed run_seed(base_seed, i) whatever the order runs
// finish in; with jobs > 1 the first run to finish with the condition holding is the one kept,
// and the runs still under way are stopped (their programs killed, their files removed). Errors
// are failures of gorepro (a run could not be started or its trace read); a condition that never held is a result with reproduced = false.
Result<ReproResult> repro(const ReproRequest& request, const BackendFactory& make_backend,
                          const ReproHooks& hooks = {});

// The CPUs gorepro may use.
std::vector<int> usable_cpus();

}  // namespace gorepro::repro
