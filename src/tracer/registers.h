// Registers: a stopped thread's general-purpose registers, addressable by the names the
// DWARF/ABI layer uses ("RAX", "R14"), so argument registers are never hard-coded here.
#pragma once

#include <sys/user.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace gorepro::tracer {

struct Registers {
  user_regs_struct r{};

  uint64_t pc() const { return r.rip; }
  uint64_t sp() const { return r.rsp; }
  uint64_t bp() const { return r.rbp; }
  uint64_t g() const { return r.r14; }  // Go's ABIInternal keeps the current g in R14

};

// A general-purpose register by name ("rax", matched without case) and its byte offset in
// user_regs_struct — the one table ptrace's decoder, the emulator and gdb's register numbers use.
struct NamedRegister {
  const char* name;
  size_t offset;
};
std::span<const NamedRegister> general_registers();  // rax…r15, rip, eflags

// Resolves a register name once (at setup) to its slot offset, so the per-hit path does no
// string comparison.
class RegisterRef {
 public:
  RegisterRef() = default;
  static std::optional<RegisterRef> named(std::string_view name);
  uint64_t read(const Registers& regs) const;
  bool valid() const { return offset_ >= 0; }
  // The register's word index in user_regs_struct — on x86-64 also its slot in the kernel's
  // struct pt_regs, the context of a uprobe program.
  int slot() const { return static_cast<int>(offset_ / 8); }

 private:
  long offset_ = -1;  // byte offset in user_regs_struct
};

}  // namespace gorepro::tracer
