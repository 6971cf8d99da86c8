#include "tracer/verdict_scan.h"

#include "tracer/backend.h"
#include "verdict/heap_scan.h"

namespace gorepro::tracer {

Result<replay::LeakVerdicts> scan_stopped(const GoBinary& binary, const TargetMemory& memory, uint64_t load_bias,
                                          const std::vector<std::pair<pid_t, Registers>>& threads) {
  std::vector<verdict::ThreadRoots> roots;
  for (const auto& [tid, regs] : threads) {
    const user_regs_struct& r = regs.r;
    roots.push_back({static_cast<uint64_t>(tid), r.rsp,
                     {r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.rsp, r.r8, r.r9, r.r10, r.r11, r.r12, r.r13,
                      r.r14, r.r15}});
  }
  return verdict::scan_verdicts(binary, memory, load_bias, roots, {.now_ns = monotonic_ns()});
}

}  // namespace gorepro::tracer
