// TraceSymbols: names for the PCs of a trace — creation sites, start functions, block sites,
// stacks — through the binary's Symbolizer, memoized per PC (reports ask about the same few
// hundred PCs millions of times). Without a symbolizer (binary gone or rebuilt) every name is
// the raw PC in hex, and reports say so once.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "dwarf/symbolizer.h"
#include "replay/trace_header.h"

namespace gorepro::replay {

// True for runtime-internal code: package runtime, and functions other packages take from the
// runtime by linkname (sync.runtime_SemacquireMutex, internal/poll.runtime_pollWait), which
// are not where the user's code blocked either.
bool is_runtime_function(std::string_view name);

class TraceSymbols {
 public:
  explicit TraceSymbols(const Symbolizer* symbolizer) : symbolizer_(symbolizer) {}
  bool symbolic() const { return symbolizer_ != nullptr; }

  // The `go` statement: gopc is the return address of the call to newproc, so like the
  // runtime's printcreatedby we look up gopc-1; innermost frame (the function the statement
  // is written in, even when inlined).
  SourceFrame creation_site(uint64_t gopc) const;
  // The function containing pc (outermost physical function).
  std::string function_at(uint64_t pc) const;
  // Frames of a stack; frame 0 is an exact PC when first_exact, every other one (and frame 0
  // otherwise) a return address, looked up at pc-1.
  std::vector<SourceFrame> frames(std::span<const uint64_t> pcs, bool first_exact) const;
  // The first frame of a block stack outside the runtime (and package iter, whose yield
  // wrapper a coroutine waits in): where user code blocked.
  SourceFrame block_site(std::span<const uint64_t> pcs) const;
  // Goroutines the runtime starts for itself (GC workers, timers...), which reports hide unless
  // asked: by their go statement or start function. Never true without symbols.
  // A coroutine's goroutine (iter.Pull, Go 1.23) starts in runtime.corostart but runs the
  // program's iterator: it is the program's.
  bool is_runtime_goroutine(const SourceFrame& creation_site, const std::string& start_function) const {
    if (start_function == "runtime.corostart") return false;
    return symbolic() && (is_runtime_function(start_function) || is_runtime_function(creation_site.function));
  }

 private:
  const std::vector<SourceFrame>& lookup(uint64_t pc) const;

  const Symbolizer* symbolizer_;
  mutable std::unordered_map<uint64_t, std::vector<SourceFrame>> frames_;
  mutable std::unordered_map<uint64_t, std::string> functions_;
};

// "file:line" or the function name alone when the line is unknown.
std::string format_site(const SourceFrame& f);
// "function  file:line" (a stack line), or the function alone when the line is unknown.
std::string format_frame(const SourceFrame& f);

}  // namespace gorepro::replay
