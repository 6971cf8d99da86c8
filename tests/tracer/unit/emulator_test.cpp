// InstructionEmulator against the CPU it stands in for: flags of a compare and the decision of
// every conditional jump it emulates are checked against what this machine's CPU computes for
// the same operands; loads and jumps against their definitions.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "tracer/emulator.h"

namespace gorepro::tracer {
namespace {

constexpr uint64_t kArithFlags = 0x8d5;  // CF PF AF ZF SF OF

uint64_t cpu_cmp_flags(uint64_t a, uint64_t b) {
  uint64_t flags;
  asm volatile("cmp %2, %1\n\tpushfq\n\tpopq %0" : "=r"(flags) : "r"(a), "r"(b) : "cc");
  return flags & kArithFlags;
}

// The CPU's verdict for each condition after `cmp a, b`, in the order of kJumps below.
std::vector<bool> cpu_conditions(uint64_t a, uint64_t b) {
  uint8_t r[12];
  asm volatile(
      "cmp %13, %12\n\t"
      "seta %0\n\tsetae %1\n\tsetb %2\n\tsetbe %3\n\tsete %4\n\tsetne %5\n\t"
      "setg %6\n\tsetge %7\n\tsetl %8\n\tsetle %9\n\tsets %10\n\tsetns %11"
      : "=m"(r[0]), "=m"(r[1]), "=m"(r[2]), "=m"(r[3]), "=m"(r[4]), "=m"(r[5]), "=m"(r[6]), "=m"(r[7]),
        "=m"(r[8]), "=m"(r[9]), "=m"(r[10]), "=m"(r[11])
      : "r"(a), "r"(b)
      : "cc");
  return std::vector<bool>(r, r + 12);
}

// `jcc rel32` opcodes (0f 8x), same order as cpu_conditions.
const uint8_t kJumps[12] = {0x87, 0x83, 0x82, 0x86, 0x84, 0x85, 0x8f, 0x8d, 0x8c, 0x8e, 0x88, 0x89};

std::vector<std::pair<uint64_t, uint64_t>> operand_pairs() {
  std::vector<uint64_t> edge = {0, 1, 2, 0x7f, 0x80, 0xff, 0x7fffffffffffffff, 0x8000000000000000,
                                0xffffffffffffffff, 0xfffffffffffffffe, 0x10, 0xf};
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (uint64_t a : edge)
    for (uint64_t b : edge) out.emplace_back(a, b);
  std::mt19937_64 rng(42);
  for (int i = 0; i < 2000; i++) {
    uint64_t a = rng(), b = i % 3 == 0 ? a + (rng() % 5) - 2 : rng();
    out.emplace_back(a, b);
  }
  return out;
}

TEST(Emulator, CompareFlagsEqualTheCpus) {
  for (auto [a, b] : operand_pairs()) {
    EXPECT_EQ(sub_flags(a, b, 0) & kArithFlags, cpu_cmp_flags(a, b)) << std::hex << a << " " << b;
  }
}

TEST(Emulator, ConditionalJumpsDecideLikeTheCpu) {
  const uint64_t at = 0x401000;
  for (size_t j = 0; j < 12; j++) {
    // jcc rel32 with displacement 0x100: target = at + 6 + 0x100.
    const uint8_t code[6] = {0x0f, kJumps[j], 0x00, 0x01, 0x00, 0x00};
    auto e = InstructionEmulator::decode(code, at);
    ASSERT_TRUE(e.supported()) << e.text();
    ASSERT_TRUE(e.is_conditional_jump());
    ASSERT_EQ(e.length(), 6);
    for (auto [a, b] : operand_pairs()) {
      Registers regs;
      regs.r.rip = at;
      regs.r.eflags = cpu_cmp_flags(a, b) | 0x202;
      const bool taken = cpu_conditions(a, b)[j];
      EXPECT_EQ(e.branch_taken(regs), taken) << e.text() << " after cmp " << std::hex << a << ", " << b;
      ASSERT_TRUE(e.apply(regs, [](uint64_t, uint64_t*) { return false; }));
      EXPECT_EQ(regs.r.rip, taken ? at + 6 + 0x100 : at + 6) << e.text();
    }
  }
}

TEST(Emulator, ShortStackCheckJumpAndLoad) {
  // Go's prologue: `cmp rsp, [r14+0x10]; jbe short` (goexit1 has a 2-byte jbe).
  const uint8_t jbe[2] = {0x76, 0x7b};
  auto j = InstructionEmulator::decode(jbe, 0x43e084);
  ASSERT_TRUE(j.is_conditional_jump());
  Registers regs;
  regs.r.rip = 0x43e084;
  regs.r.eflags = cpu_cmp_flags(0x1000, 0x2000);  // rsp below the bound: morestack
  EXPECT_TRUE(j.branch_taken(regs));
  ASSERT_TRUE(j.apply(regs, nullptr));
  EXPECT_EQ(regs.r.rip, 0x43e084u + 2 + 0x7b);

  // `mov rdx, qword ptr [r14 + 0x30]` (g.m) after gcBgMarkWorker's call to gopark.
  const uint8_t mov[4] = {0x49, 0x8b, 0x56, 0x30};
  auto m = InstructionEmulator::decode(mov, 0x4180a9);
  ASSERT_TRUE(m.supported()) << m.text();
  EXPECT_FALSE(m.is_conditional_jump());
  regs = Registers{};
  regs.r.rip = 0x4180a9;
  regs.r.r14 = 0xc000001000;
  uint64_t asked = 0;
  ASSERT_TRUE(m.apply(regs, [&](uint64_t addr, uint64_t* out) {
    asked = addr;
    *out = 0xdeadbeef;
    return true;
  }));
  EXPECT_EQ(asked, 0xc000001030u);
  EXPECT_EQ(regs.r.rdx, 0xdeadbeefu);
  EXPECT_EQ(regs.r.rip, 0x4180a9u + 4);
  // An unreadable operand is reported, not guessed.
  regs.r.rip = 0x4180a9;
  EXPECT_FALSE(m.apply(regs, [](uint64_t, uint64_t*) { return false; }));
}

TEST(Emulator, ImmediateMovesSetTheWholeRegister) {
  // `mov ebx, 1` before park_m's call to execute: 32 bits, zero-extended; then 64-bit forms.
  const std::vector<std::pair<std::vector<uint8_t>, uint64_t>> cases = {
      {{0xbb, 0x01, 0x00, 0x00, 0x00}, 1},                                            // mov ebx, 1
      {{0xbb, 0xff, 0xff, 0xff, 0xff}, 0xffffffffu},                                  // mov ebx, 0xffffffff
      {{0x48, 0xc7, 0xc3, 0xff, 0xff, 0xff, 0xff}, ~0ull},                            // mov rbx, -1
      {{0x48, 0xbb, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11}, 0x1122334455667788u},  // movabs rbx
  };
  for (const auto& [code, want] : cases) {
    auto e = InstructionEmulator::decode(code, 0x43979e);
    ASSERT_TRUE(e.supported()) << e.text();
    EXPECT_EQ(e.length(), code.size());
    Registers regs;
    regs.r.rip = 0x43979e;
    regs.r.rbx = 0xaaaaaaaaaaaaaaaau;
    regs.r.rax = 0xc000001000u;
    ASSERT_TRUE(e.apply(regs, nullptr));
    EXPECT_EQ(regs.r.rbx, want) << e.text();
    EXPECT_EQ(regs.r.rax, 0xc000001000u);
    EXPECT_EQ(regs.r.rip, 0x43979eu + code.size());
  }
}

}  // namespace
}  // namespace gorepro::tracer
