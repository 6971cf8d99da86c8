// BpfEnvironment: what this machine lets the ebpf backend do, and — when it cannot — one line
// saying why and what to do. The facts (capabilities, kernel version, sysctls, lockdown, BTF,
// uprobe support, the locked-memory limit) are read once from /proc and /sys; check() turns
// them into the first blocking reason before anything is loaded, and explain() turns a failed
// bpf()/perf_event_open() errno into the most likely of the same reasons afterwards (a kernel
// feature can exist and still be refused, e.g. under lockdown).
//
// The facts come from a root directory (normally "/") so tests can hold the reasoning against
// a written-out machine; gather() never fails, unknown facts stay at their "don't know" values
// and are never blamed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "util/result.h"

namespace gorepro::bpf {

struct BpfEnvironment {
  uint64_t cap_effective = 0;       // CapEff of this process
  bool cap_known = false;
  int kernel_major = 0, kernel_minor = 0;  // 0: unknown
  std::string kernel_release;
  std::optional<int> unprivileged_bpf_disabled;  // kernel.unprivileged_bpf_disabled
  std::optional<int> perf_event_paranoid;        // kernel.perf_event_paranoid
  std::string lockdown;             // "none", "integrity", "confidentiality"; "" unknown
  bool btf = true;                  // /sys/kernel/btf/vmlinux exists
  bool uprobes = true;              // the uprobe PMU or tracefs uprobe_events exists
  std::optional<uint64_t> memlock_bytes;  // RLIMIT_MEMLOCK soft limit; nullopt: unlimited/unknown

  // Reads the facts below root ("/" for this machine).
  static BpfEnvironment gather(const std::string& root = "/");

  bool has_cap(int cap) const { return cap_known && (cap_effective >> cap) & 1; }
  // CAP_SYS_ADMIN, or CAP_BPF together with CAP_PERFMON.
  bool privileged() const;
  bool kernel_at_least(int major, int minor) const;

  // The first reason the ebpf backend cannot work here, or Ok (it may still fail: explain()).
  Status check() const;
  // Why an operation (what: "loading gorepro's BPF programs", "attaching a uprobe at ...")
  // failed with errno err, with the fix.
  Error explain(const std::string& what, int err, uint64_t ring_bytes = 0) const;
};

}  // namespace gorepro::bpf
