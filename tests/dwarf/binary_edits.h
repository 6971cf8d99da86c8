// Copies of real Go binaries with one thing changed, the way a release process or a user could
// change them: the version in the build-info blob, or the blob zeroed out. What the tests of
// version detection and of binaries without build information start from.
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "dwarf/elf_file.h"

namespace gorepro::testing {

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Writes bytes to out, executable by its owner; returns out.
inline std::string write_executable(const std::string& bytes, const std::string& out) {
  std::ofstream(out, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  std::filesystem::permissions(out, std::filesystem::perms::owner_all);
  return out;
}

// A copy of src whose .go.buildinfo says `to` where it said `from` (same length).
inline std::string with_version(const std::string& src, const std::string& from, const std::string& to,
                                const std::string& out) {
  std::string bytes = read_file(src);
  size_t at = bytes.find("\xff Go buildinf:");
  EXPECT_NE(at, std::string::npos);
  size_t v = bytes.find(from, at);
  EXPECT_NE(v, std::string::npos);
  EXPECT_EQ(from.size(), to.size());
  bytes.replace(v, from.size(), to);
  return write_executable(bytes, out);
}

// A copy of src whose .go.buildinfo section is all zeros: the blob gone, the program unchanged
// (the runtime keeps its own copy of the version, runtime.buildVersion).
inline std::string without_build_info(const std::string& src, const std::string& out) {
  auto elf = ElfFile::open(src);
  EXPECT_TRUE(elf) << elf.error().message();
  const ElfSection* sec = elf ? (*elf)->section(".go.buildinfo") : nullptr;
  EXPECT_NE(sec, nullptr) << src;
  std::string bytes = read_file(src);
  if (sec) std::fill_n(bytes.begin() + static_cast<std::ptrdiff_t>(sec->offset), sec->size, '\0');
  return write_executable(bytes, out);
}

}  // namespace gorepro::testing
