// LaunchOptions: how a program gorepro launches starts besides its argv — its environment and
// the descriptors it inherits. Shared by every backend that launches (and by Tracee).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace gorepro::tracer {

struct LaunchOptions {
  std::optional<std::vector<std::string>> env;  // "KEY=VALUE" entries; nullopt: gorepro's own
  // (fd in the program, open fd of gorepro's to put there): e.g. {2, pipe} sends its stderr
  // into a pipe. gorepro's fds are expected to be close-on-exec; the program's are not.
  std::vector<std::pair<int, int>> fds;
  // Start the program in a process group of its own, so a terminal's Ctrl-C reaches gorepro
  // alone (`gorepro debug` stops the program at the prompt instead of interrupting it).
  bool own_process_group = false;
  // CPUs the program may run on (sched_setaffinity before exec; its threads inherit it).
  // Empty: gorepro's own. `gorepro repro` varies it per run.
  std::vector<int> cpus;
};

}  // namespace gorepro::tracer
