// The backends a test records with: ptrace always; ebpf when this build has it and this machine
// lets gorepro use it (root or CAP_BPF+CAP_PERFMON, uprobes, BTF — bpf::BpfEnvironment decides,
// as `gorepro record --backend ebpf` would). A test that leaves ebpf out says why.
#pragma once

#include <string>
#include <vector>

#include "support/go_programs.h"

#ifdef GOREPRO_HAVE_BPF
#include "bpf/bpf_environment.h"
#endif

namespace gorepro::testing {

// "" when the ebpf backend can record here, else why not.
inline std::string ebpf_unavailable() {
#ifdef GOREPRO_HAVE_BPF
  auto st = bpf::BpfEnvironment::gather().check();
  return st ? "" : "the ebpf backend cannot run here: " + st.error().message();
#else
  return "this build has no ebpf backend (clang or bpftool were missing at configure time)";
#endif
}

inline std::vector<std::string> recording_backends() {
  std::vector<std::string> out = {"ptrace"};
  if (ebpf_unavailable().empty()) out.push_back("ebpf");
  return out;
}

// The backends a test of version-independent mechanics records Go version v with: ptrace on
// every version (its breakpoints and emulator meet each version's code), ebpf on the newest
// toolchain only — its version-dependent part, the probes, is held against ptrace on every
// version by EbpfCrossCheck.
inline std::vector<std::string> mechanics_backends(const std::string& v) {
  std::vector<std::string> out = {"ptrace"};
  if (v == newest_go_version() && ebpf_unavailable().empty()) out.push_back("ebpf");
  return out;
}

}  // namespace gorepro::testing
