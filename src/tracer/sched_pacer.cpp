#include "tracer/sched_pacer.h"

#include <sys/uio.h>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace gorepro::tracer {

int SchedPacer::interval_for(uint64_t dump_ns, int asked_ms) {
  const double ms = static_cast<double>(dump_ns) / 1e6 / (1.0 - kProgramShare);
  const double capped = std::min(ms, 3'600'000.0);  // an hour; an int32 either way
  return std::max(asked_ms, static_cast<int>(std::ceil(capped)));
}

bool SchedPacer::read(int32_t* v) const {
  iovec local{v, sizeof *v}, remote{reinterpret_cast<void*>(setting_), sizeof *v};
  return process_vm_readv(pid_, &local, 1, &remote, 1, 0) == sizeof *v;
}

bool SchedPacer::write(int32_t v) const {
  // An aligned 4-byte store: sysmon reads the old or the new value, never a mix.
  iovec local{&v, sizeof v}, remote{reinterpret_cast<void*>(setting_), sizeof v};
  return process_vm_writev(pid_, &local, 1, &remote, 1, 0) == sizeof v;
}

int SchedPacer::dump_ended(uint64_t begin_ns, uint64_t end_ns) {
  if (end_ns < begin_ns) return 0;
  const uint64_t took = end_ns - begin_ns;
  longest_dump_ns_ = std::max(longest_dump_ns_, took);
  if (!off_.empty()) return 0;
  if (!setting_) {
    off_ = "the runtime's schedtrace setting was not found in the binary";
    return 0;
  }
  int want = interval_for(took, asked_ms_);
  // Lower only when dumps got clearly cheaper, so one interval is not rewritten after every dump.
  if (want == now_ms_ || (want < now_ms_ && want * 5 > now_ms_ * 4)) return 0;
  int32_t held = 0;
  if (!read(&held)) {
    off_ = "the runtime's schedtrace setting could not be read";
    return 0;
  }
  if (held != now_ms_) {  // not the runtime's setting after all, or the program reset its GODEBUG
    off_ = checked_ ? fmt::format("the program changed its schedtrace interval to {} ms itself", held)
                    : fmt::format("the runtime's schedtrace setting read {}, not the {} ms asked for", held, asked_ms_);
    return 0;
  }
  checked_ = true;
  if (!write(want)) {
    off_ = "the runtime's schedtrace setting could not be written";
    return 0;
  }
  now_ms_ = want;
  max_ms_ = std::max(max_ms_, want);
  changes_++;
  return want;
}

bool SchedPacer::restore() {
  if (!setting_ || !checked_ || now_ms_ == asked_ms_ || !off_.empty()) return false;
  int32_t held = 0;
  // Only our own value is taken back: a program that set its own interval keeps it.
  if (!read(&held) || held != now_ms_ || !write(asked_ms_)) return false;
  now_ms_ = asked_ms_;
  return true;
}

}  // namespace gorepro::tracer
