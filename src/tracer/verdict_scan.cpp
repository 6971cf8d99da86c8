#include "tracer/verdict_scan.h"

#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "tracer/backend.h"
#include "verdict/heap_scan.h"

namespace gorepro::tracer {

namespace {

// GOREPRO_VERDICT_WINDOW_KIB: the scan's window (docs/verdicts.md, "Speed"); tests set it small
// so that a small heap spans many windows.
Result<uint64_t> window_bytes() {
  const char* env = std::getenv("GOREPRO_VERDICT_WINDOW_KIB");
  if (!env || !*env) return verdict::ScanOptions::kDefaultWindowBytes;
  char* end = nullptr;
  const unsigned long long kib = std::strtoull(env, &end, 10);
  if (*end || kib < 64 || kib > (1 << 20)) {
    return make_error(fmt::format("no leak verdicts: GOREPRO_VERDICT_WINDOW_KIB={} is not a window size", env),
                      "give a size in KiB from 64 to 1048576, or unset it");
  }
  return static_cast<uint64_t>(kib) << 10;
}

}  // namespace

Result<replay::LeakVerdicts> scan_stopped(const GoBinary& binary, const TargetMemory& memory, uint64_t load_bias,
                                          const std::vector<std::pair<pid_t, Registers>>& threads) {
  std::vector<verdict::ThreadRoots> roots;
  for (const auto& [tid, regs] : threads) {
    const user_regs_struct& r = regs.r;
    roots.push_back({static_cast<uint64_t>(tid), r.rsp, r.rip, static_cast<int64_t>(r.orig_rax) >= 0,
                     {r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.rsp, r.r8, r.r9, r.r10, r.r11, r.r12, r.r13,
                      r.r14, r.r15}});
  }
  auto window = window_bytes();
  if (!window) return window.error();
  return verdict::scan_verdicts(binary, memory, load_bias, roots, {.now_ns = monotonic_ns(), .window_bytes = *window});
}

}  // namespace gorepro::tracer
