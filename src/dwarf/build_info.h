// BuildInfo: what the Go linker wrote into .go.buildinfo — the toolchain version and the main
// module. Present in stripped binaries too, so it is how we tell a Go binary from any other ELF.
#pragma once

#include <string>

#include "dwarf/elf_file.h"
#include "util/result.h"

namespace gorepro {

struct BuildInfo {
  std::string go_version;   // "go1.22.12"
  std::string module_path;  // main module, e.g. "gorepro/examples/sendleak"; "" if absent
  std::string modinfo;      // the raw module info text (path/mod/dep/build lines)

  static Result<BuildInfo> read(const ElfFile& elf);
};

}  // namespace gorepro
