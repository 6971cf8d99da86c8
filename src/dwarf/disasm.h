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
  // For every RET: where the function's results are final on every path to that RET — the
  // first conditional jump of its epilogue when there is one, else the RET itself. The epilogue
  // is the run of instructions before the RET that write no register but RSP, RBP and the flags
  // (frame teardown, stores, compares: Go's inlined releasem), contains no call, and is entered
  // only through its first instruction (no jump from elsewhere lands past the chosen branch).
  // Why: a uprobe on `ret` is single-stepped out of line (two traps), one on a conditional
  // jump is emulated by the kernel (one trap); in a VM the second trap dominates the cost.
  static Result<std::vector<uint64_t>> exit_sites(std::span<const uint8_t> code, uint64_t base);
  // Absolute addresses of every RIP-relative memory operand in code (globals it touches).
  static Result<std::vector<uint64_t>> rip_relative_targets(std::span<const uint8_t> code, uint64_t base);
};

}  // namespace gorepro
