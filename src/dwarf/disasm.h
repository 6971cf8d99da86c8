// Disassembly of runtime functions with Capstone: where a function returns (RET sites, for
// return probes without uretprobes, which break Go's stack handling) and what instruction sits
// at a probe address (its length and form, for stepping over or emulating it).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "util/result.h"

namespace gorepro {

struct Instruction {
  uint64_t address = 0;
  uint8_t length = 0;
  std::string text;  // "mov rax, qword ptr [r14 + 0x10]"
  bool is_ret = false;
};

class Disassembler {
 public:
  // Decodes code (the bytes at address base) instruction by instruction.
  static Result<std::vector<Instruction>> decode(std::span<const uint8_t> code, uint64_t base);
  // The addresses of every RET instruction in code.
  static Result<std::vector<uint64_t>> ret_sites(std::span<const uint8_t> code, uint64_t base);
  // Absolute addresses of every RIP-relative memory operand in code (globals it touches).
  static Result<std::vector<uint64_t>> rip_relative_targets(std::span<const uint8_t> code, uint64_t base);
};

}  // namespace gorepro
