// Disassembler::exit_sites: where a return probe can sit before the RET (docs/probes.md) — on
// the first conditional jump of an epilogue that only tears the frame down, when every path to
// the RET passes that jump — and where it must stay on the RET. Hand-assembled x86-64, shaped
// like Go's newproc1 epilogue (releasem inlined).
#include <gtest/gtest.h>

#include <vector>

#include "dwarf/disasm.h"

namespace gorepro {
namespace {

constexpr uint64_t kBase = 0x401000;

std::vector<uint64_t> sites(const std::vector<uint8_t>& code) {
  auto r = Disassembler::exit_sites(code, kBase);
  EXPECT_TRUE(r) << r.error().message();
  return r ? *r : std::vector<uint64_t>{};
}

TEST(ExitSites, TheEpiloguesFirstBranchWhenTheResultIsSetBeforeIt) {
  const std::vector<uint8_t> code = {
      0x48, 0x8b, 0x44, 0x24, 0x40,                    // 0x00 mov rax, [rsp+0x40]   (the result)
      0x83, 0xfa, 0x01,                                // 0x05 cmp edx, 1
      0x75, 0x0a,                                      // 0x08 jne 0x14
      0x41, 0x80, 0xbe, 0xb9, 0x00, 0x00, 0x00, 0x00,  // 0x0a cmp byte ptr [r14+0xb9], 0
      0x74, 0x00,                                      // 0x12 je 0x14
      0x48, 0x83, 0xc4, 0x50,                          // 0x14 add rsp, 0x50
      0x5d,                                            // 0x18 pop rbp
      0xc3,                                            // 0x19 ret
  };
  EXPECT_EQ(sites(code), std::vector<uint64_t>{kBase + 0x08});
}

TEST(ExitSites, TheRetWhenAJumpFromElsewhereLandsPastTheBranch) {
  const std::vector<uint8_t> code = {
      0xeb, 0x16,                                      // 0x00 jmp 0x18   (another way into the epilogue)
      0x48, 0x8b, 0x44, 0x24, 0x40,                    // 0x02 mov rax, [rsp+0x40]
      0x83, 0xfa, 0x01,                                // 0x07 cmp edx, 1
      0x75, 0x0c,                                      // 0x0a jne 0x18
      0x41, 0x80, 0xbe, 0xb9, 0x00, 0x00, 0x00, 0x00,  // 0x0c cmp byte ptr [r14+0xb9], 0
      0x74, 0x02,                                      // 0x14 je 0x18
      0x90, 0x90,                                      // 0x16 nop; nop
      0x48, 0x83, 0xc4, 0x50,                          // 0x18 add rsp, 0x50
      0x5d,                                            // 0x1c pop rbp
      0xc3,                                            // 0x1d ret
  };
  EXPECT_EQ(sites(code), std::vector<uint64_t>{kBase + 0x1d});
}

TEST(ExitSites, TheRetWhenTheResultIsWrittenAfterTheBranch) {
  const std::vector<uint8_t> code = {
      0x83, 0xfa, 0x01,              // 0x00 cmp edx, 1
      0x75, 0x05,                    // 0x03 jne 0x0a
      0xb8, 0x00, 0x00, 0x00, 0x00,  // 0x05 mov eax, 0
      0x48, 0x83, 0xc4, 0x50,        // 0x0a add rsp, 0x50
      0x5d,                          // 0x0e pop rbp
      0xc3,                          // 0x0f ret
  };
  EXPECT_EQ(sites(code), std::vector<uint64_t>{kBase + 0x0f});
}

TEST(ExitSites, EveryRetIsJudgedOnItsOwn) {
  const std::vector<uint8_t> code = {
      0x31, 0xc0,              // 0x00 xor eax, eax
      0x85, 0xdb,              // 0x02 test ebx, ebx
      0x74, 0x05,              // 0x04 je 0x0b
      0x48, 0x83, 0xc4, 0x08,  // 0x06 add rsp, 8
      0xc3,                    // 0x0a ret   <- the je may leave for the other return: not its epilogue
      0xb8, 0x01, 0x00, 0x00, 0x00,  // 0x0b mov eax, 1
      0x5d,                    // 0x10 pop rbp
      0xc3,                    // 0x11 ret   <- no branch after its result is set
      0x85, 0xc9,              // 0x12 test ecx, ecx
      0x75, 0x01,              // 0x14 jne 0x17
      0x90,                    // 0x16 nop
      0xc3,                    // 0x17 ret   <- its epilogue starts at the test; the jne is the site
  };
  EXPECT_EQ(sites(code), (std::vector<uint64_t>{kBase + 0x0a, kBase + 0x11, kBase + 0x14}));
}

}  // namespace
}  // namespace gorepro
