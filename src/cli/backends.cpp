#include "cli/backends.h"

#include <fmt/format.h>

#include "gdbmi/gdb_backend.h"
#include "tracer/ptrace_backend.h"

namespace gorepro::cli {

const std::vector<std::string>& backend_names() {
  static const std::vector<std::string> names = {"ptrace", "gdb", "ebpf"};
  return names;
}

std::string backend_help() {
  return "ptrace (int3 breakpoints: each event stops one thread briefly; a launched program dies with gorepro). "
         "gdb (the same breakpoints placed and read through a gdb child over GDB/MI: tens of times slower per event; "
         "needs gdb 9+). ebpf is not in this build yet";
}

Result<std::unique_ptr<tracer::Backend>> make_backend(std::string_view name, const GoBinary& binary) {
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
  return make_error(fmt::format("the {} backend is not available in this build", name), "use --backend=ptrace");
}

}  // namespace gorepro::cli
