// The leak-verdict scan (src/verdict) as every stopping backend takes it: the program's every
// thread is stopped (at its exit, before a detach, or held in `gorepro debug`), each stopped
// thread's general registers are roots and its SP bounds its goroutine's live stack.
#pragma once

#include <sys/types.h>

#include <utility>
#include <vector>

#include "dwarf/go_binary.h"
#include "replay/leak_verdicts.h"
#include "tracer/registers.h"
#include "util/result.h"
#include "util/target_memory.h"

namespace gorepro::tracer {

Result<replay::LeakVerdicts> scan_stopped(const GoBinary& binary, const TargetMemory& memory, uint64_t load_bias,
                                          const std::vector<std::pair<pid_t, Registers>>& threads);

}  // namespace gorepro::tracer
