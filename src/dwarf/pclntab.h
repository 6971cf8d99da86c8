// Pclntab: the Go runtime's own symbol table (.gopclntab, Go 1.18+), which survives
// `-ldflags=-s -w`. It maps PCs to functions, files, lines and — given the address of the
// go:func.* blob where funcdata lives — inlined frames, exactly as runtime.CallersFrames does.
// The table is copied at load, so a Pclntab outlives the ElfFile it came from. Every read is
// bounds-checked: a corrupt table yields a load error or empty answers, never a bad read.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dwarf/elf_file.h"
#include "dwarf/symbolizer.h"
#include "util/result.h"

namespace gorepro {

struct PclntabLayout;  // per-version struct layouts, in pclntab.cpp

// A function name as the Go runtime prints it (runtime.funcNameForPrint): the outermost [...] of
// a generic instantiation elided, "pkg.F[go.shape.int]" -> "pkg.F[...]". Go 1.18/1.19 linkers
// store only this form in the pclntab, later ones the full name; SourceFrame::function and
// function_name() always use this form, so that both symbolizers and every Go version agree.
std::string func_name_for_print(std::string_view name);

class Pclntab final : public Symbolizer {
 public:
  struct Function {
    std::string name;  // as stored: full on Go 1.20+, func_name_for_print form on 1.18/1.19
    uint64_t entry = 0;
    uint64_t end = 0;  // one past the last instruction (padding to the next function excluded)
    // Compiler-generated (funcID wrapper): ABI wrappers, method wrappers, type eq/hash. An ABI
    // wrapper has the same name as the function it wraps; find() prefers the real one.
    bool wrapper = false;
  };

  // Parses elf's .gopclntab. gofunc_addr is the address of go:func.* (go.func.* before 1.20),
  // the base of funcdata offsets; 0 = unknown, and then frames() reports physical functions only.
  // text_start is where function entry offsets count from; 0 = the header's textStart, or — from
  // Go 1.26 on, where the header holds 0 and the runtime reads moduledata.text — runtime.text,
  // which is the start of .text (as Go's own objdump takes it).
  static Result<std::unique_ptr<Pclntab>> load(const ElfFile& elf, uint64_t gofunc_addr, uint64_t text_start = 0);
  // The same from raw bytes: the .gopclntab contents and the bytes starting at gofunc_addr (to
  // the end of their section; empty when unknown). A table whose header has no textStart needs
  // text_start.
  static Result<std::unique_ptr<Pclntab>> parse(std::vector<uint8_t> pclntab,
                                                 uint64_t gofunc_addr,
                                                 std::vector<uint8_t> gofunc_bytes,
                                                 uint64_t text_start = 0);

  // Address of go:func.*: the .symtab symbol when present, else moduledata's gofunc field, found
  // at moduledata_gofunc_offset inside runtime.firstmoduledata (see find_moduledata).
  static std::optional<uint64_t> find_gofunc(const ElfFile& elf,
                                             std::optional<int64_t> moduledata_gofunc_offset);
  // The section holding the table: .gopclntab, or .data.rel.ro.gopclntab in PIE builds; null when
  // there is none.
  static const ElfSection* section(const ElfFile& elf);
  // Address of runtime.firstmoduledata, found without symbols: the 8-byte-aligned word in
  // .go.module (Go 1.26+) or .noptrdata that points at .gopclntab (moduledata's first field is pcHeader) and whose next
  // field (funcnametab's data pointer) points at the function name table.
  static std::optional<uint64_t> find_moduledata(const ElfFile& elf);

  Pclntab(const Pclntab&) = delete;  // by_name_ views into functions_
  Pclntab& operator=(const Pclntab&) = delete;

  // 0xfffffff0 (Go 1.18/1.19) or 0xfffffff1 (Go 1.20+).
  uint32_t magic() const { return magic_; }
  bool has_inline_tree() const { return gofunc_addr_ != 0; }
  // The address function entry offsets count from (runtime.text, moduledata.text).
  uint64_t text_start() const { return text_start_; }

  // Sorted by entry.
  const std::vector<Function>& functions() const { return functions_; }
  // By stored name; for a name shared by a function and its wrapper, the function.
  const Function* find(std::string_view name) const;
  const Function* function_at(uint64_t pc) const;

  std::vector<SourceFrame> frames(uint64_t pc) const override;
  std::string function_name(uint64_t pc) const override;

  // What the garbage collector reads of a function to scan its stack frame (runtime/symtab.go
  // funcspdelta, pcdatavalue, funcdata; runtime/stkframe.go getStackMap). f must be one of
  // functions().
  // The frame size at pc: the pcsp table's value (bytes below the return address).
  std::optional<int32_t> sp_delta(const Function& f, uint64_t pc) const;
  // The value of PCDATA table `table` at pc; nullopt when the function has no such table.
  std::optional<int32_t> pcdata(const Function& f, uint32_t table, uint64_t pc) const;
  // _func.args: the bytes of arguments and results (ArgsSizeUnknown for reflect's stubs).
  int32_t args_size(const Function& f) const;
  // _func.flag (abi.FuncFlag: 1 top frame, 2 writes SP, 4 assembly).
  uint8_t flag(const Function& f) const;
  // FUNCDATA slot `slot` of f: the bytes from its start to the end of go:func.*; empty when f
  // has none or go:func.* is unknown.
  std::span<const uint8_t> funcdata(const Function& f, uint32_t slot) const;

 private:
  Pclntab() = default;
  Status parse_tables();
  // The value of the pc-value table at table_off (pctab offset) for pc, as runtime.pcvalue.
  std::optional<int32_t> pcvalue(size_t func_index, uint32_t table_off, uint64_t pc) const;
  std::optional<uint32_t> func_u32(size_t func_index, size_t offset) const;
  std::optional<uint32_t> pcdata_offset(size_t func_index, uint32_t table) const;
  std::optional<uint32_t> funcdata_offset(size_t func_index, uint32_t slot) const;
  std::optional<std::string> file_line(size_t func_index, uint64_t pc, int* line) const;

  const PclntabLayout* layout_ = nullptr;
  uint32_t magic_ = 0;
  std::vector<uint8_t> tab_;
  uint64_t gofunc_addr_ = 0;
  std::vector<uint8_t> gofunc_;
  uint64_t text_start_ = 0;
  size_t funcnametab_ = 0, cutab_ = 0, filetab_ = 0, pctab_ = 0, pclntable_ = 0;
  std::vector<Function> functions_;
  std::vector<size_t> func_offsets_;  // offset of each function's _func in tab_
  std::unordered_map<std::string_view, size_t> by_name_;
};

}  // namespace gorepro
