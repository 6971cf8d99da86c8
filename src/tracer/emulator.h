// InstructionEmulator: executes, on a stopped thread's registers, the one instruction that a
// breakpoint displaced — so resuming from a breakpoint costs no single-step and never lifts the
// breakpoint (other threads passing the same address at the same moment still trap). Go's probe
// sites are the conditional jump of a function's stack-bound check (`cmp rsp, [r14+0x10]; jbe
// morestack`), function entries, RET sites, loads and argument moves around calls, so a
// handful of forms covers them; anything else
// reports !supported() and the tracer falls back to a single-step.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "tracer/registers.h"

namespace gorepro::tracer {

// Reads 8 bytes of tracee memory at an address; false when unreadable.
using ReadWord = std::function<bool(uint64_t addr, uint64_t* out)>;

class InstructionEmulator {
 public:
  // Decodes the instruction in code (at address), deciding whether it can be emulated.
  static InstructionEmulator decode(std::span<const uint8_t> code, uint64_t address);

  bool supported() const { return kind_ != Kind::kUnsupported; }
  uint8_t length() const { return length_; }
  const std::string& text() const { return text_; }

  // Applies the instruction's effect to regs (RIP included). Registers must have RIP at the
  // instruction (not after the int3). False if a memory operand cannot be read.
  bool apply(Registers& regs, const ReadWord& read) const;

  bool is_conditional_jump() const { return kind_ == Kind::kJcc; }
  // For a conditional jump: whether it jumps, given the flags in regs.
  bool branch_taken(const Registers& regs) const;

 private:
  uint64_t effective_address(Registers& regs) const;  // of the memory operand
  enum class Kind { kUnsupported, kRet, kCmpRegMem, kCmpRegReg, kMovRegReg, kSubRegImm, kNop, kLeaRegMem, kJcc, kMovRegMem, kMovRegMem32, kMovRegImm };
  Kind kind_ = Kind::kUnsupported;
  uint8_t length_ = 0;
  std::string text_;
  long dst_ = -1;            // register offsets in user_regs_struct (-1: none)
  long src_ = -1;
  long base_ = -1, index_ = -1;
  int scale_ = 1;
  int64_t disp_ = 0;
  int64_t imm_ = 0;       // kJcc: the target; kSubRegImm, kMovRegImm: the immediate
  unsigned condition_ = 0;  // kJcc: the capstone instruction id (X86_INS_JBE, ...)
};

// x86 flags of `a - b` (64-bit), as CMP and SUB set them; other EFLAGS bits kept from old.
uint64_t sub_flags(uint64_t a, uint64_t b, uint64_t old_eflags);

}  // namespace gorepro::tracer
