#include "cli/backends.h"

#include <fmt/format.h>

#include "tracer/ptrace_backend.h"

namespace gorepro::cli {

const std::vector<std::string>& backend_names() {
  static const std::vector<std::string> names = {"ptrace", "gdb", "ebpf"};
  return names;
}

std::string backend_help() {
  return "ptrace (int3 breakpoints: each event stops one thread briefly; a launched program dies with gorepro). "
         "gdb and ebpf are not in this build yet";
}

Result<std::unique_ptr<tracer::Backend>> make_backend(std::string_view name, const GoBinary& binary) {
  if (name == "ptrace") return std::unique_ptr<tracer::Backend>(new tracer::PtraceBackend(binary));
  return make_error(fmt::format("the {} backend is not available in this build", name), "use --backend=ptrace");
}

}  // namespace gorepro::cli
