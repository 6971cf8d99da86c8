// BuildInfo: what the Go linker wrote into .go.buildinfo — the toolchain version and the main
// module. Present in stripped binaries too — unless a release process removed or zeroed the blob,
// which changes nothing for the program (the runtime keeps its own copies, runtime.buildVersion
// and runtime.modinfo). GoBinary then finds the version there (version_source says which).
#pragma once

#include <string>

#include "dwarf/elf_file.h"
#include "util/result.h"

namespace gorepro {

struct BuildInfo {
  std::string go_version;   // "go1.22.12"
  std::string module_path;  // main module, e.g. "gorepro/examples/sendleak"; "" if absent
  std::string modinfo;      // the raw module info text (path/mod/dep/build lines)
  std::string version_source = "build info";  // or where GoBinary found the version without it

  // True when .go.buildinfo is there and starts with the magic; read() fails otherwise.
  static bool present(const ElfFile& elf);
  static Result<BuildInfo> read(const ElfFile& elf);
};

}  // namespace gorepro
