// Scratch files for a test executable: one directory per suite and process under TMPDIR, so
// tests running in parallel (ctest -j) never share a file.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

namespace gorepro::testing {

// TMPDIR/gorepro-<suite>-<pid>/<name>, the directory created on first use.
inline std::string scratch_file(const std::string& suite, const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("gorepro-" + suite + "-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

}  // namespace gorepro::testing
