// The code of a running program, as its memory holds it: what "the target runs on as if gorepro
// had never been there" is checked against after a detach.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "dwarf/elf_file.h"

namespace gorepro::testing {

// The bytes of the .text section of the running program pid, whose executable is `binary`
// (not PIE: link-time addresses are run-time ones).
inline std::string text_bytes(pid_t pid, const std::string& binary) {
  auto elf = ElfFile::open(binary);
  EXPECT_TRUE(elf);
  if (!elf) return "";
  const ElfSection* text = (*elf)->section(".text");
  std::string bytes(text->size, '\0');
  int fd = open(fmt::format("/proc/{}/mem", pid).c_str(), O_RDONLY);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(pread(fd, bytes.data(), bytes.size(), static_cast<off_t>(text->addr)), static_cast<ssize_t>(bytes.size()));
  close(fd);
  return bytes;
}

}  // namespace gorepro::testing
