#include "dwarf/pclntab.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "util/read_le.h"

namespace gorepro {

// What differs between pclntab generations; the source of truth is runtime/runtime2.go (_func),
// runtime/symtab.go (1.19 inlinedCall) and runtime/symtabinl.go (1.20+ inlinedCall).
struct PclntabLayout {
  uint32_t magic;
  const char* go_versions;
  size_t func_size;          // sizeof(_func) before the pcdata/funcdata arrays
  size_t inl_call_size;      // sizeof(inlinedCall)
  size_t inl_name_off;       // offset of the called function's funcnametab offset
  size_t inl_parent_pc_off;  // offset of parentPc (call site, relative to the physical entry)
};

namespace {

// _func fields common to every 1.18+ layout.
constexpr size_t kFuncNameOff = 4, kFuncArgs = 8, kFuncPcsp = 16, kFuncPcfile = 20, kFuncPcln = 24, kFuncNpcdata = 28,
                 kFuncCuOffset = 32;
constexpr uint32_t kPcdataInlTreeIndex = 2;  // internal/abi PCDATA_InlTreeIndex
constexpr uint32_t kFuncdataInlTree = 3;     // internal/abi FUNCDATA_InlTree
constexpr size_t kHeaderSize = 72;           // pcHeader: 8 bytes of magic etc., 8 words
constexpr int kMaxInlineDepth = 1000;        // guards against cyclic parentPc in corrupt tables

constexpr PclntabLayout kLayouts[] = {
    // Go 1.18/1.19: _func has no startLine; inlinedCall{parent int16, funcID, _, file, line,
    // func_ (name offset), parentPc}.
    {0xfffffff0, "1.18-1.19", 40, 20, 12, 16},
    // Go 1.20+: _func gains startLine; inlinedCall{funcID, _ [3]byte, nameOff, parentPc,
    // startLine}.
    {0xfffffff1, "1.20+", 44, 16, 4, 8},
};

// A NUL-terminated string at off, or nullopt when it runs past the end.
std::optional<std::string_view> read_cstr(std::span<const uint8_t> bytes, size_t off) {
  if (off >= bytes.size()) return std::nullopt;
  const auto* start = reinterpret_cast<const char*>(bytes.data() + off);
  const void* nul = std::memchr(start, 0, bytes.size() - off);
  if (!nul) return std::nullopt;
  return std::string_view(start, static_cast<const char*>(nul) - start);
}

// runtime.readvarint: little-endian base-128, at most 5 bytes for a uint32.
std::optional<uint32_t> read_varint(std::span<const uint8_t> bytes, size_t* pos) {
  uint32_t v = 0;
  for (int shift = 0; shift < 35; shift += 7) {
    if (*pos >= bytes.size()) return std::nullopt;
    uint8_t b = bytes[(*pos)++];
    v |= uint32_t(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
  return std::nullopt;
}

// One runtime.step of a pc-value table; false at the end of the table or on corruption.
bool step(std::span<const uint8_t> bytes, size_t* pos, uint64_t* pc, int32_t* val, bool first) {
  if (*pos >= bytes.size()) return false;
  if (bytes[*pos] == 0 && !first) return false;
  auto uvdelta = read_varint(bytes, pos);
  if (!uvdelta) return false;
  *val += static_cast<int32_t>(-(*uvdelta & 1) ^ (*uvdelta >> 1));
  auto pcdelta = read_varint(bytes, pos);
  if (!pcdelta) return false;
  *pc += *pcdelta;  // PCQuantum is 1 on amd64
  return true;
}

}  // namespace

std::string func_name_for_print(std::string_view name) {
  size_t i = name.find('[');
  size_t j = name.rfind(']');
  if (i == std::string_view::npos || j == std::string_view::npos || j <= i) return std::string(name);
  return std::string(name.substr(0, i)) + "[...]" + std::string(name.substr(j + 1));
}

// The linker names the table .gopclntab, or .data.rel.ro.gopclntab in PIE builds.
const ElfSection* Pclntab::section(const ElfFile& elf) {
  const ElfSection* s = elf.section(".gopclntab");
  return s ? s : elf.section(".data.rel.ro.gopclntab");
}

Result<std::unique_ptr<Pclntab>> Pclntab::load(const ElfFile& elf, uint64_t gofunc_addr, uint64_t text_start) {
  const ElfSection* sec = section(elf);
  if (!sec) {
    return make_error(fmt::format("{} has no .gopclntab section", elf.path()),
                      "gorepro needs a Go executable built by Go 1.18 or later");
  }
  auto bytes = elf.section_bytes(*sec);
  std::vector<uint8_t> gofunc;
  if (gofunc_addr != 0) {
    const ElfSection* fsec = elf.section_at(gofunc_addr);
    if (!fsec) {
      return make_error(fmt::format("go:func.* address {:#x} lies in no section of {}",
                                    gofunc_addr, elf.path()),
                        "the binary may be corrupt");
    }
    auto fbytes = elf.section_bytes(*fsec);
    uint64_t skip = gofunc_addr - fsec->addr;
    if (skip <= fbytes.size()) gofunc.assign(fbytes.begin() + skip, fbytes.end());
  }
  if (text_start == 0 && read_le<uint64_t>(bytes, 24).value_or(0) == 0) {
    if (const ElfSymbol* t = elf.symbol("runtime.text")) {
      text_start = t->value;
    } else if (const ElfSection* t = elf.section(".text")) {
      text_start = t->addr;
    }
  }
  auto r = parse(std::vector<uint8_t>(bytes.begin(), bytes.end()), gofunc_addr, std::move(gofunc), text_start);
  if (!r.ok()) {
    return make_error(fmt::format("{}: {}", elf.path(), r.error().what), r.error().hint);
  }
  return r;
}

Result<std::unique_ptr<Pclntab>> Pclntab::parse(std::vector<uint8_t> pclntab, uint64_t gofunc_addr,
                                                std::vector<uint8_t> gofunc_bytes, uint64_t text_start) {
  std::unique_ptr<Pclntab> t(new Pclntab());
  t->text_start_ = text_start;
  t->tab_ = std::move(pclntab);
  t->gofunc_addr_ = gofunc_bytes.empty() ? 0 : gofunc_addr;
  t->gofunc_ = std::move(gofunc_bytes);
  Status s = t->parse_tables();
  if (!s.ok()) return s.error();
  return t;
}

Status Pclntab::parse_tables() {
  std::span<const uint8_t> tab(tab_);
  const char hint[] = "the binary's .gopclntab is corrupt or from an unsupported Go version (1.18+ needed)";
  if (tab.size() < kHeaderSize) return make_error(".gopclntab is shorter than its header", hint);
  magic_ = *read_le<uint32_t>(tab, 0);
  for (const PclntabLayout& l : kLayouts) {
    if (l.magic == magic_) layout_ = &l;
  }
  if (!layout_) return make_error(fmt::format(".gopclntab has unknown magic {:#x}", magic_), hint);
  if (tab[4] != 0 || tab[5] != 0 || tab[6] != 1 || tab[7] != 8) {
    return make_error(".gopclntab header is not for a 64-bit x86 target", hint);
  }
  uint64_t nfunc = *read_le<uint64_t>(tab, 8);
  if (text_start_ == 0) text_start_ = *read_le<uint64_t>(tab, 24);
  if (text_start_ == 0) return make_error(".gopclntab has no textStart and none was given", hint);
  uint64_t offs[5];
  for (int i = 0; i < 5; i++) {
    offs[i] = *read_le<uint64_t>(tab, 32 + 8 * i);
    if (offs[i] < kHeaderSize || offs[i] > tab.size()) {
      return make_error(fmt::format(".gopclntab table offset {:#x} is outside the section", offs[i]), hint);
    }
  }
  funcnametab_ = offs[0], cutab_ = offs[1], filetab_ = offs[2], pctab_ = offs[3], pclntable_ = offs[4];
  // functab: nfunc+1 {entryoff, funcoff} pairs; the last entry's entryoff is the end of text.
  if (tab.size() - pclntable_ < 8 || nfunc > (tab.size() - pclntable_) / 8 - 1) {
    return make_error(fmt::format(".gopclntab claims {} functions, more than fit", nfunc), hint);
  }
  functions_.reserve(nfunc);
  func_offsets_.reserve(nfunc);
  std::vector<uint8_t> func_ids;
  for (uint64_t i = 0; i < nfunc; i++) {
    uint32_t entryoff = *read_le<uint32_t>(tab, pclntable_ + 8 * i);
    uint32_t funcoff = *read_le<uint32_t>(tab, pclntable_ + 8 * i + 4);
    uint32_t next_entryoff = *read_le<uint32_t>(tab, pclntable_ + 8 * (i + 1));
    if (next_entryoff < entryoff) {
      return make_error(fmt::format(".gopclntab function table is not sorted at entry {}", i), hint);
    }
    size_t foff = pclntable_ + size_t(funcoff);
    if (foff > tab.size() || tab.size() - foff < layout_->func_size) {
      return make_error(fmt::format(".gopclntab function {} lies outside the section", i), hint);
    }
    auto name_off = read_le<int32_t>(tab, foff + kFuncNameOff);
    auto name = name_off && *name_off >= 0 ? read_cstr(tab.subspan(funcnametab_), *name_off) : std::nullopt;
    if (!name) return make_error(fmt::format(".gopclntab function {} has a bad name offset", i), hint);
    uint64_t entry = text_start_ + entryoff;
    uint64_t next_entry = text_start_ + next_entryoff;
    functions_.push_back(Function{std::string(*name), entry, next_entry, false});
    func_ids.push_back(tab[foff + layout_->func_size - 4]);  // funcID precedes flag, pad, nfuncdata
    func_offsets_.push_back(foff);
    // The pcln table covers exactly the function's code: its end is the function's size,
    // which excludes the alignment padding before the next function.
    uint32_t pcln = func_u32(i, kFuncPcln).value_or(0);
    if (pcln != 0) {
      size_t pos = pctab_ + size_t(pcln);
      uint64_t pc = entry;
      int32_t val = -1;
      while (step(tab, &pos, &pc, &val, pc == entry)) {
        if (pc > next_entry) break;
      }
      if (pc > entry && pc <= next_entry) functions_.back().end = pc;
    }
  }
  // FuncIDWrapper's value changes between Go versions that share a pclntab magic (21 in 1.19-1.21,
  // 22 in 1.22+). Learn it from the data: ABI wrappers, which share the name of the function they
  // wrap, are most of the functions with a duplicated name, so it is the commonest non-zero
  // funcID among those.
  std::unordered_map<std::string_view, size_t> first;
  size_t id_count[256] = {};
  for (size_t i = 0; i < functions_.size(); i++) {
    auto [it, inserted] = first.emplace(functions_[i].name, i);
    if (!inserted) {
      id_count[func_ids[i]]++;
      id_count[func_ids[it->second]]++;
    }
  }
  size_t wrapper_id = std::max_element(id_count + 1, id_count + 256) - id_count;
  if (id_count[wrapper_id] > 0) {
    for (size_t i = 0; i < functions_.size(); i++) functions_[i].wrapper = func_ids[i] == wrapper_id;
  }
  by_name_.reserve(functions_.size());
  for (size_t i = 0; i < functions_.size(); i++) {
    auto [it, inserted] = by_name_.emplace(functions_[i].name, i);
    if (!inserted && functions_[it->second].wrapper && !functions_[i].wrapper) it->second = i;
  }
  return Ok{};
}

std::optional<uint32_t> Pclntab::func_u32(size_t fi, size_t offset) const {
  return read_le<uint32_t>(tab_, func_offsets_[fi] + offset);
}

std::optional<uint32_t> Pclntab::pcdata_offset(size_t fi, uint32_t table) const {
  auto npcdata = func_u32(fi, kFuncNpcdata);
  if (!npcdata || table >= *npcdata) return std::nullopt;
  return func_u32(fi, layout_->func_size + 4 * size_t(table));
}

std::optional<uint32_t> Pclntab::funcdata_offset(size_t fi, uint32_t slot) const {
  auto npcdata = func_u32(fi, kFuncNpcdata);
  auto nfuncdata = read_le<uint8_t>(tab_, func_offsets_[fi] + layout_->func_size - 1);
  if (!npcdata || !nfuncdata || slot >= *nfuncdata || *npcdata > tab_.size()) return std::nullopt;
  auto off = func_u32(fi, layout_->func_size + 4 * size_t(*npcdata) + 4 * size_t(slot));
  if (!off || *off == ~uint32_t(0)) return std::nullopt;
  return off;
}

std::optional<int32_t> Pclntab::pcvalue(size_t fi, uint32_t table_off, uint64_t target) const {
  if (table_off == 0) return std::nullopt;
  std::span<const uint8_t> tab(tab_);
  const uint64_t entry = functions_[fi].entry;
  size_t pos = pctab_ + size_t(table_off);
  uint64_t pc = entry;
  int32_t val = -1;
  while (step(tab, &pos, &pc, &val, pc == entry)) {
    if (target < pc) return val;
  }
  return std::nullopt;
}

std::optional<std::string> Pclntab::file_line(size_t fi, uint64_t pc, int* line) const {
  auto pcfile = func_u32(fi, kFuncPcfile);
  auto pcln = func_u32(fi, kFuncPcln);
  auto cu = func_u32(fi, kFuncCuOffset);
  if (!pcfile || !pcln || !cu) return std::nullopt;
  auto fileno = pcvalue(fi, *pcfile, pc);
  auto ln = pcvalue(fi, *pcln, pc);
  if (!fileno || !ln || *fileno < 0 || *ln < 0) return std::nullopt;
  auto fileoff = read_le<uint32_t>(tab_, cutab_ + 4 * (uint64_t(*cu) + uint64_t(*fileno)));
  if (!fileoff || *fileoff == ~uint32_t(0)) return std::nullopt;
  auto file = read_cstr(std::span<const uint8_t>(tab_).subspan(filetab_), *fileoff);
  if (!file) return std::nullopt;
  *line = *ln;
  return std::string(*file);
}

std::optional<int32_t> Pclntab::sp_delta(const Function& f, uint64_t pc) const {
  const size_t fi = &f - functions_.data();
  auto pcsp = func_u32(fi, kFuncPcsp);
  if (!pcsp || *pcsp == 0) return std::nullopt;
  return pcvalue(fi, *pcsp, pc);
}

std::optional<int32_t> Pclntab::pcdata(const Function& f, uint32_t table, uint64_t pc) const {
  const size_t fi = &f - functions_.data();
  auto off = pcdata_offset(fi, table);
  if (!off || *off == 0) return std::nullopt;
  return pcvalue(fi, *off, pc);
}

int32_t Pclntab::args_size(const Function& f) const {
  return static_cast<int32_t>(func_u32(&f - functions_.data(), kFuncArgs).value_or(0));
}

uint8_t Pclntab::flag(const Function& f) const {
  // funcID, flag, a pad byte and nfuncdata end the fixed part of _func.
  return read_le<uint8_t>(tab_, func_offsets_[&f - functions_.data()] + layout_->func_size - 3).value_or(0);
}

std::span<const uint8_t> Pclntab::funcdata(const Function& f, uint32_t slot) const {
  if (!gofunc_addr_) return {};
  auto off = funcdata_offset(&f - functions_.data(), slot);
  if (!off || *off >= gofunc_.size()) return {};
  return std::span<const uint8_t>(gofunc_).subspan(*off);
}

const Pclntab::Function* Pclntab::find(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &functions_[it->second];
}

const Pclntab::Function* Pclntab::function_at(uint64_t pc) const {
  auto it = std::upper_bound(functions_.begin(), functions_.end(), pc,
                             [](uint64_t p, const Function& f) { return p < f.entry; });
  if (it == functions_.begin()) return nullptr;
  --it;
  return pc < it->end ? &*it : nullptr;
}

std::string Pclntab::function_name(uint64_t pc) const {
  const Function* f = function_at(pc);
  return f ? func_name_for_print(f->name) : std::string();
}

std::vector<SourceFrame> Pclntab::frames(uint64_t pc) const {
  std::vector<SourceFrame> out;
  const Function* f = function_at(pc);
  if (!f) return out;
  const size_t fi = f - functions_.data();
  // The inline tree lives in go:func.*; without its address only the physical frame is known.
  std::optional<uint32_t> inl_tree = gofunc_addr_ ? funcdata_offset(fi, kFuncdataInlTree) : std::nullopt;
  std::optional<uint32_t> inl_index = inl_tree ? pcdata_offset(fi, kPcdataInlTreeIndex) : std::nullopt;
  // Mirrors runtime.inlineUnwinder (symtabinl.go; traceback.go in 1.19): each inlined frame's
  // caller is found at the physical function's entry + parentPc, whose line is the call site.
  uint64_t cur = pc;
  for (int depth = 0; depth < kMaxInlineDepth; depth++) {
    SourceFrame frame;
    if (auto file = file_line(fi, cur, &frame.line)) frame.file = std::move(*file);
    int32_t ix = inl_index ? pcvalue(fi, *inl_index, cur).value_or(-1) : -1;
    if (ix >= 0) {
      size_t rec = size_t(*inl_tree) + size_t(ix) * layout_->inl_call_size;
      auto name_off = read_le<int32_t>(gofunc_, rec + layout_->inl_name_off);
      auto parent_pc = read_le<int32_t>(gofunc_, rec + layout_->inl_parent_pc_off);
      auto name = name_off && *name_off >= 0
                      ? read_cstr(std::span<const uint8_t>(tab_).subspan(funcnametab_), *name_off)
                      : std::nullopt;
      if (name && parent_pc) {
        frame.function = func_name_for_print(*name);
        frame.inlined = true;
        out.push_back(std::move(frame));
        cur = f->entry + uint32_t(*parent_pc);
        continue;
      }
    }
    frame.function = func_name_for_print(f->name);
    out.push_back(std::move(frame));
    break;
  }
  return out;
}

std::optional<uint64_t> Pclntab::find_moduledata(const ElfFile& elf) {
  const ElfSection* pcln = section(elf);
  if (!pcln) return std::nullopt;
  auto header = elf.section_bytes(*pcln);
  auto funcname_off = read_le<uint64_t>(header, 32);
  if (!funcname_off) return std::nullopt;
  // Go 1.26 gave runtime.firstmoduledata a section of its own; before, it was in .noptrdata.
  for (const char* name : {".go.module", ".noptrdata"}) {
    const ElfSection* sec = elf.section(name);
    if (!sec) continue;
    auto data = elf.section_bytes(*sec);
    for (size_t off = 0; off + 16 <= data.size(); off += 8) {
      if (*read_le<uint64_t>(data, off) != pcln->addr) continue;
      // moduledata{pcHeader *pcHeader; funcnametab []byte; ...}: check the slice's data pointer
      // too, so that some other pointer to the table is not taken for moduledata.
      if (*read_le<uint64_t>(data, off + 8) != pcln->addr + *funcname_off) continue;
      return sec->addr + off;
    }
  }
  return std::nullopt;
}

std::optional<uint64_t> Pclntab::find_gofunc(const ElfFile& elf,
                                             std::optional<int64_t> moduledata_gofunc_offset) {
  for (const char* name : {"go:func.*", "go.func.*"}) {
    if (const ElfSymbol* s = elf.symbol(name)) return s->value;
  }
  if (!moduledata_gofunc_offset || *moduledata_gofunc_offset < 0) return std::nullopt;
  auto md = find_moduledata(elf);
  if (!md) return std::nullopt;
  auto word = elf.read(*md + uint64_t(*moduledata_gofunc_offset), 8);
  if (!word) return std::nullopt;
  uint64_t gofunc = *read_le<uint64_t>(*word, 0);
  if (!elf.section_at(gofunc)) return std::nullopt;
  return gofunc;
}

}  // namespace gorepro
