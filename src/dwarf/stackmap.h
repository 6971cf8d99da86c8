// Stack maps: which words of a goroutine's stack the Go garbage collector treats as live
// pointers, found the way runtime.scanstack finds them (runtime/mgcmark.go scanstack and
// scanframeworker, runtime/stkframe.go getStackMap, runtime/traceback.go's unwinder), from the
// binary's .gopclntab and go:func.* only — so it works on stripped binaries too.
//
// A frame is unwound with the pcsp table (frame size at a PC); its live pointer slots are the
// set bits of the locals bitmap (FUNCDATA_LocalsPointerMaps) and the args bitmap
// (FUNCDATA_ArgsPointerMaps) at the call's PCDATA_StackMapIndex; its stack objects (address-taken
// variables, FUNCDATA_StackObjects) are listed, for the caller to scan when a live pointer
// reaches them, as the GC does.
//
// Invariant: nothing is ever skipped that the GC would scan. Whatever the walk cannot decode the
// way the runtime does — an unknown PC, a frame that writes SP (systemstack, morestack…),
// asyncPreempt / debugCallV2 / sigpanic frames (the interrupted frame's registers and slots are
// live at a non-safe point), a reflect stub (args size unknown), a missing map, a frame past the
// stack's end — ends the precise walk: everything from that frame's SP to the stack's top is then
// left to a conservative scan (`conservative_from`).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dwarf/pclntab.h"

namespace gorepro {

// internal/abi's indices, the same in every supported version (Go 1.18+).
inline constexpr uint32_t kPcdataStackMapIndex = 1;
inline constexpr uint32_t kFuncdataArgsPointerMaps = 0, kFuncdataLocalsPointerMaps = 1, kFuncdataStackObjects = 2;
// abi.FuncFlag, 1.19 to 1.27.
inline constexpr uint8_t kFuncFlagTopFrame = 1, kFuncFlagSPWrite = 2, kFuncFlagAsm = 4;

// The functions whose frame holds the registers or slots of a caller stopped at a non-safe
// point: the GC scans them and their callers conservatively.
inline bool interrupts_a_frame(std::string_view function) {
  return function == "runtime.asyncPreempt" || function == "runtime.debugCallV2" || function == "runtime.sigpanic";
}

// runtime.stackmap: n bitmaps of nbit bits each (one bit per word), each starting on a byte.
struct StackMap {
  int32_t n = 0, nbit = 0;
  std::span<const uint8_t> bytes;  // the bitmaps
  // Bitmap i; empty when i is out of range or the data is truncated.
  std::span<const uint8_t> bitmap(int32_t i) const;
};
std::optional<StackMap> parse_stack_map(std::span<const uint8_t> funcdata);

// runtime.stackObjectRecord: an address-taken variable of a frame.
struct StackObjectRecord {
  int32_t off = 0;        // from varp when negative, from argp when not
  int32_t size = 0;
  int32_t ptr_bytes = 0;  // the prefix that may hold pointers (negated on Go 1.19 for a GC program)
  uint32_t gcdata_off = 0;
};
std::optional<std::vector<StackObjectRecord>> parse_stack_objects(std::span<const uint8_t> funcdata);

// What the GC would scan of one goroutine's stack.
struct StackRoots {
  std::vector<uint64_t> pointer_slots;  // addresses of the words that hold live pointers
  struct Object {
    uint64_t addr = 0, size = 0, ptr_bytes = 0;
  };
  std::vector<Object> objects;  // the stack objects of the frames walked precisely
  // [conservative_from, stack_hi) is left to a conservative scan; == stack_hi: nothing is.
  uint64_t conservative_from = 0;
  int frames = 0;        // frames walked precisely
  std::string stopped;   // why the precise walk ended early ("" when it reached the top frame)
};

// Walks the stack of a goroutine stopped at (pc, sp) — its g.sched, or a syscall's PC/SP — whose
// bytes from sp to stack_hi are `stack`. pc is a runtime address; bias is the binary's load bias.
StackRoots stack_roots(const Pclntab& tab, uint64_t bias, std::span<const uint8_t> stack, uint64_t sp,
                       uint64_t stack_hi, uint64_t pc);

}  // namespace gorepro
