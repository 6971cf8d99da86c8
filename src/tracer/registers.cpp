#include "tracer/registers.h"

#include <cstddef>
#include <cstring>

namespace gorepro::tracer {

namespace {

struct Named {
  const char* name;
  size_t offset;
};

constexpr Named kRegs[] = {
    {"RAX", offsetof(user_regs_struct, rax)}, {"RBX", offsetof(user_regs_struct, rbx)},
    {"RCX", offsetof(user_regs_struct, rcx)}, {"RDX", offsetof(user_regs_struct, rdx)},
    {"RSI", offsetof(user_regs_struct, rsi)}, {"RDI", offsetof(user_regs_struct, rdi)},
    {"RBP", offsetof(user_regs_struct, rbp)}, {"RSP", offsetof(user_regs_struct, rsp)},
    {"R8", offsetof(user_regs_struct, r8)},   {"R9", offsetof(user_regs_struct, r9)},
    {"R10", offsetof(user_regs_struct, r10)}, {"R11", offsetof(user_regs_struct, r11)},
    {"R12", offsetof(user_regs_struct, r12)}, {"R13", offsetof(user_regs_struct, r13)},
    {"R14", offsetof(user_regs_struct, r14)}, {"R15", offsetof(user_regs_struct, r15)},
    {"RIP", offsetof(user_regs_struct, rip)},
};

std::optional<size_t> offset_of(std::string_view name) {
  for (const Named& n : kRegs) {
    if (name == n.name) return n.offset;
  }
  return std::nullopt;
}

}  // namespace

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
