#include "tracer/backend.h"

#include <time.h>

#include <fmt/format.h>

#include "tracer/event_decoder.h"

namespace gorepro::tracer {

Status Backend::patch(uint64_t address, std::span<const uint8_t> bytes) {
  (void)address, (void)bytes;
  return make_error(fmt::format("the {} backend cannot change the program's memory", name()), "");
}

BackendStats stats_of(const DecoderStats& d) {
  BackendStats s;
  s.hits = d.hits;
  s.events = d.events;
  s.read_failures = d.read_failures;
  s.settled_reads = d.settled_reads;
  s.settle_timeouts = d.settle_timeouts;
  s.settle_blocked = d.settle_blocked;
  s.capped_dumps = d.capped_dumps;
  return s;
}

uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

std::vector<const Probe*> chosen_probes(const GoBinary& binary, const ProbeOptions& options, const BackendCaps& caps) {
  std::vector<const Probe*> out;
  if (!caps.probes) return out;
  for (const Probe& p : binary.probes()) {
    const bool state_probe = p.role == "preempt" || p.role == "yield" || p.role.rfind("syscall", 0) == 0;
    const bool execute = options.probe_execute || options.probe_states;
    if (p.role == "execute" && !execute) continue;
    // netpoll's RET stands in for execute for the one goroutine findRunnable runs straight
    // from netpoll's list, and fires well before that goroutine's status changes (findRunnable
    // may first wait for sched.lock): with execute probed it is redundant, and early.
    if (p.role == "netpoll" && execute) continue;
    // unpark is one of execute's call sites: with execute probed it would record that run twice.
    if (p.role == "unpark" && execute) continue;
    if (state_probe && !options.probe_states) continue;
    const bool sched = p.role == "sched_begin" || p.role == "sched_end" || p.role == "sched_g";
    if (sched && !caps.sched_probes) continue;
    if ((p.role == "sched_begin" || p.role == "sched_end") && !options.probe_schedtrace) continue;
    if (p.role == "sched_g" && !options.probe_sched_reads) continue;
    out.push_back(&p);
  }
  return out;
}

}  // namespace gorepro::tracer
