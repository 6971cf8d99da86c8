// GoBinary: one Go executable as every backend needs to see it — its build info and version,
// the runtime functions to probe (entry or every RET site), the instruction at each probe
// address, the runtime layout (offsets, argument registers, wait reasons) and a symbolizer.
// Built once from a path; immutable afterwards except for the lazily loaded symbolizer.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "dwarf/build_info.h"
#include "dwarf/disasm.h"
#include "dwarf/elf_file.h"
#include "dwarf/go_version.h"
#include "dwarf/runtime_layout.h"
#include "dwarf/symbolizer.h"
#include "util/result.h"

namespace gorepro {

class Pclntab;

// Where in its function a probe sits: the entry (past the stack check, see Probe), every RET,
// the instruction after every call of another function (ProbeSpec::callee), the instruction
// before such a call when it leaves the first argument register (RAX) as the call gets it, or
// the first load of a runtime struct field (ProbeSpec::field: a 32-bit `mov reg, [base + offset]`).
enum class ProbeAt { kEntry, kReturn, kAfterCall, kBeforeCall, kFieldLoad };
const char* to_string(ProbeAt at);

struct FunctionRange {
  std::string name;
  uint64_t entry = 0;
  uint64_t end = 0;  // one past the last byte
};

// One runtime function gorepro places breakpoints/uprobes in, and why.
struct Probe {
  std::string role;      // ProbeSpec::role
  FunctionRange function;
  ProbeAt at = ProbeAt::kEntry;
  std::vector<uint64_t> addresses;     // the entry (see past_stack_check), every RET or after-call site
  std::vector<Instruction> insns;      // the instruction at each address (for stepping over it)
  // An entry probe of a function that begins with the stack-bound check (`cmp rsp, [r14+0x10];
  // jbe morestack`) sits on that jump: the function is really entered only when the jump falls
  // through. When it is taken (stack growth, or a preemption request — the runtime asks a
  // goroutine to stop by poisoning its stack bound), morestack runs and the function starts over
  // from its entry later, so a probe at the entry would see one call twice.
  bool past_stack_check = false;
  std::string base_register;  // kFieldLoad: the register holding the struct's address ("RAX")
};

class GoBinary {
 public:
  static Result<std::unique_ptr<GoBinary>> open(const std::string& path);
  ~GoBinary();

  const std::string& path() const { return elf_->path(); }
  const ElfFile& elf() const { return *elf_; }
  const BuildInfo& build_info() const { return build_info_; }
  // One line to show the user before relying on this binary ("" when none): a Go version that
  // gorepro reads through DWARF but has not been tested with.
  const std::string& warning() const { return warning_; }
  const std::string& go_version() const { return build_info_.go_version; }
  const GoVersion& version() const { return version_; }
  const std::string& build_id() const { return build_id_; }
  bool has_dwarf() const { return has_dwarf_; }
  bool has_symtab() const { return elf_->has_symtab(); }

  const RuntimeLayout& layout() const { return layout_; }
  const std::vector<Probe>& probes() const { return probes_; }
  const Probe* probe(std::string_view role) const;

  // A function's range from .symtab, or from .gopclntab when stripped.
  std::optional<FunctionRange> function(std::string_view name) const;
  // Address of a global variable (e.g. "runtime.allgs") from .symtab; nullopt when stripped.
  std::optional<uint64_t> global(std::string_view name) const;
  // Address of the runtime.allgs slice: the symbol, or — stripped — found in runtime.allgadd's
  // code as the global whose +0, +8 and +16 words (slice ptr, len, cap) it all touches.
  std::optional<uint64_t> allgs_address() const;
  // Address of runtime.mheap_ (the heap: arenas, spans): the symbol, or — stripped — the operand
  // of the `lea rax, [rip + X]` that passes &mheap_ to runtime.(*mheap).init in mallocinit.
  // use_symbol=false: from the code even when the symbol exists (tests hold one to the other).
  std::optional<uint64_t> mheap_address(bool use_symbol = true) const;
  // Address of runtime.semtable (the semaphores' treaps): the symbol, or — stripped — the one
  // global in a data section whose address both runtime.semacquire1 and runtime.semrelease1
  // take with `lea` (semroot / semtable.rootFor, inlined into both).
  std::optional<uint64_t> semtable_address(bool use_symbol = true) const;
  // Address of the runtime.allp slice (every P): the symbol, or — stripped — the one global whose
  // +0 and +8 words (slice ptr, len) runtime.preemptall reads (`for _, pp := range allp`), the
  // only globals it touches in 1.19-1.27.
  std::optional<uint64_t> allp_address(bool use_symbol = true) const;
  // Address of runtime.allm (the list of every M): the symbol, or — stripped — the one global in
  // .bss runtime.mcommoninit touches (it pushes the new M on allm) that runtime.checkdead does
  // not: the other, sched.lock, both take; its flags and seeds are in .noptr* (1.19-1.27).
  std::optional<uint64_t> allm_address(bool use_symbol = true) const;
  // Address (link-time) of the int32 a GODEBUG setting of the runtime is parsed into, e.g.
  // "schedtrace" -> &runtime.debug.schedtrace: read from the runtime's own table of settings
  // (runtime.dbgvars, 1.19-1.27: {name string, value *int32, ...} entries in .data), so it needs
  // neither symbols nor DWARF. nullopt when the name or its entry is not found.
  std::optional<uint64_t> godebug_setting(std::string_view name) const;
  // Where the runtime's own output (print/println, panics, GODEBUG traces such as schedtrace)
  // names its file descriptor: the address of the 32-bit immediate in the `mov eax, 2` that
  // loads fd 2 for `call runtime.write` in writeErr (inlined into gwrite up to Go 1.22,
  // writeErrData from 1.23). Rewriting it sends runtime output elsewhere while the program's
  // own writes to os.Stderr stay on fd 2. nullopt when the code has another shape.
  std::optional<uint64_t> runtime_output_fd_immediate() const;

  // DWARF-based when the binary has DWARF, else .gopclntab-based. Loaded on first use.
  const Symbolizer& symbolizer() const;
  // The .gopclntab symbolizer (always available).
  const Pclntab& pclntab() const { return *pclntab_; }

 private:
  GoBinary() = default;
  // The layout against the binary itself, before any probe relies on it: moduledata's text start
  // and go:func.* (the pclntab is reloaded with them), and — for a table layout — the binary's own
  // wait-reason strings. A mismatch refuses the binary rather than guessing offsets.
  Status check_layout();
  // Whether a is in .data, .noptrdata, .bss or .noptrbss (where the runtime's globals live).
  bool in_data_section(uint64_t a) const;
  // The absolute targets of the `lea REG, [rip + D]` instructions of a function, in order, with
  // the instruction after each (a call's text, or "").
  std::vector<std::pair<uint64_t, std::string>> lea_targets(std::string_view function) const;
  // Every address a function's code reaches RIP-relatively (loads, stores, lea); empty when the
  // function or its code cannot be read.
  std::set<uint64_t> rip_targets(std::string_view function) const;
  std::unique_ptr<ElfFile> elf_;
  BuildInfo build_info_;
  GoVersion version_;
  std::string build_id_;
  std::string warning_;
  bool has_dwarf_ = false;
  RuntimeLayout layout_;
  std::vector<Probe> probes_;
  std::unique_ptr<Pclntab> pclntab_;
  mutable std::once_flag symbolizer_once_;
  mutable std::unique_ptr<Symbolizer> dwarf_symbolizer_;
};

// The probe roles and the functions behind them, in one place (docs/probes.md says why).
struct ProbeSpec {
  const char* role;
  const char* function;  // "runtime.a|runtime.b": a function renamed between versions, first found wins
  ProbeAt at;
  const char* why;
  const char* callee = nullptr;  // kAfterCall, kBeforeCall: the function whose calls are probed
  const char* field = nullptr;   // kFieldLoad: the RuntimeLayout offset key (e.g. "g.atomicstatus")
  // Only in some programs (e.g. coroutines, linked only when used): absent is not an error.
  bool optional = false;
};
const std::vector<ProbeSpec>& probe_specs();

}  // namespace gorepro
