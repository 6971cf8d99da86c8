// Symbolizer: turns a program counter of the traced binary into source frames. Two
// implementations exist — one over DWARF (line tables + inlined subroutines) and one over
// .gopclntab (function table + inline tree, present even in stripped binaries) — and they must
// agree. Frames are innermost first: a PC inside code inlined into its caller yields the inlined
// function's frame, then the caller's frame at the call site.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gorepro {

struct SourceFrame {
  std::string function;  // Go symbol name, e.g. "main.sendLeaks.func1"
  std::string file;      // absolute path as recorded by the compiler
  int line = 0;
  bool inlined = false;  // this frame was inlined into the next one

  bool operator==(const SourceFrame&) const = default;
};

class Symbolizer {
 public:
  virtual ~Symbolizer() = default;
  // Frames for pc, innermost first; empty when pc is in no known function.
  // For a return address taken from a stack, pass ret_addr - 1 (the call instruction).
  virtual std::vector<SourceFrame> frames(uint64_t pc) const = 0;
  // The outermost (physical) function containing pc, or "" — cheaper than frames().
  virtual std::string function_name(uint64_t pc) const = 0;
};

}  // namespace gorepro
