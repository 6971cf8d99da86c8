#include "tracer/registers.h"

#include <cctype>
#include <cstddef>
#include <cstring>

namespace gorepro::tracer {

namespace {

// The lower-case names are gdb's (and the kernel's) for x86-64; the DWARF/ABI layer says "RAX".
constexpr NamedRegister kRegs[] = {
    {"rax", offsetof(user_regs_struct, rax)}, {"rbx", offsetof(user_regs_struct, rbx)},
    {"rcx", offsetof(user_regs_struct, rcx)}, {"rdx", offsetof(user_regs_struct, rdx)},
    {"rsi", offsetof(user_regs_struct, rsi)}, {"rdi", offsetof(user_regs_struct, rdi)},
    {"rbp", offsetof(user_regs_struct, rbp)}, {"rsp", offsetof(user_regs_struct, rsp)},
    {"r8", offsetof(user_regs_struct, r8)},   {"r9", offsetof(user_regs_struct, r9)},
    {"r10", offsetof(user_regs_struct, r10)}, {"r11", offsetof(user_regs_struct, r11)},
    {"r12", offsetof(user_regs_struct, r12)}, {"r13", offsetof(user_regs_struct, r13)},
    {"r14", offsetof(user_regs_struct, r14)}, {"r15", offsetof(user_regs_struct, r15)},
    {"rip", offsetof(user_regs_struct, rip)}, {"eflags", offsetof(user_regs_struct, eflags)},
};

bool same_name(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

std::optional<size_t> offset_of(std::string_view name) {
  for (const NamedRegister& n : kRegs) {
    if (same_name(name, n.name)) return n.offset;
  }
  return std::nullopt;
}

}  // namespace

std::span<const NamedRegister> general_registers() { return kRegs; }

std::optional<RegisterRef> RegisterRef::named(std::string_view name) {
  auto off = offset_of(name);
  if (!off) return std::nullopt;
  RegisterRef ref;
  ref.offset_ = static_cast<long>(*off);
  return ref;
}

uint64_t RegisterRef::read(const Registers& regs) const {
  uint64_t v;
  std::memcpy(&v, reinterpret_cast<const char*>(&regs.r) + offset_, 8);
  return v;
}

}  // namespace gorepro::tracer
