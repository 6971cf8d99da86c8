#include "cli/backends.h"

#include <fmt/format.h>

#include "gdbmi/gdb_backend.h"
#include "tracer/ptrace_backend.h"
#include "tracer/snapshot_backend.h"
#ifdef GOREPRO_HAVE_BPF
#include "bpf/ebpf_backend.h"
#endif

namespace gorepro::cli {

const std::vector<std::string>& backend_names() {
  static const std::vector<std::string> names = {"ptrace", "gdb", "ebpf"};
  return names;
}

std::string backend_help() {
  return "ptrace (int3 breakpoints: each event stops one thread briefly; a launched program dies with gorepro; leak verdicts at the program's exit or before detaching). "
         "gdb (the same breakpoints placed and read through a gdb child over GDB/MI: tens of times slower per event; "
         "needs gdb 9+; leak verdicts as ptrace). "
#ifdef GOREPRO_HAVE_BPF
         "ebpf (uprobes, needs root or CAP_BPF+CAP_PERFMON: nothing stops, the program runs on unchanged if gorepro "
         "dies; events the ring buffer has no room for are counted as lost; no leak verdicts: the program is never "
         "stopped)";
#else
         "ebpf is not in this build (clang or bpftool were missing)";
#endif
}

Result<std::unique_ptr<tracer::Backend>> make_backend(std::string_view name, const GoBinary& binary,
                                                      const BackendTuning& tuning) {
  if (tuning.ring_bytes && name != "ebpf") {
    return make_error("--ring-size is for the ebpf backend only", "add --backend ebpf, or leave --ring-size out");
  }
  if (name == "snapshot") {
    return std::unique_ptr<tracer::Backend>(new tracer::SnapshotBackend(binary, tuning.snapshot_interval_ns));
  }
  if (name == "ptrace") return std::unique_ptr<tracer::Backend>(new tracer::PtraceBackend(binary));
  if (name == "gdb") {
    // Two knobs for measuring the gdb backend's costs (bench/README.md), not for everyday use:
    // GOREPRO_GDB_MEMORY=mi|direct (how memory is read at a hit), GOREPRO_GDB_STOP=all (all-stop).
    gdbmi::GdbBackendOptions o;
    const char* memory = getenv("GOREPRO_GDB_MEMORY");
    if (memory && std::string_view(memory) == "mi") o.memory = gdbmi::GdbMemory::kMi;
    if (memory && std::string_view(memory) == "direct") o.memory = gdbmi::GdbMemory::kDirect;
    const char* stop = getenv("GOREPRO_GDB_STOP");
    if (stop && std::string_view(stop) == "all") o.non_stop = false;
    return std::unique_ptr<tracer::Backend>(new gdbmi::GdbBackend(binary, o));
  }
#ifdef GOREPRO_HAVE_BPF
  if (name == "ebpf") {
    bpf::EbpfOptions options;
    if (tuning.ring_bytes) options.ring_bytes = tuning.ring_bytes;
    return std::unique_ptr<tracer::Backend>(new bpf::EbpfBackend(binary, options));
  }
#else
  if (name == "ebpf") {
    return make_error("this gorepro was built without the ebpf backend (clang or bpftool were missing)",
                      "install clang and bpftool (scripts/setup.sh) and rebuild, or use --backend=ptrace");
  }
#endif
  return make_error(fmt::format("the {} backend is not available in this build", name), "use --backend=ptrace");
}

}  // namespace gorepro::cli
