// ElfFile: a read-only view of an ELF64 x86-64 executable (ET_EXEC or PIE). It owns the mapping
// and answers questions about sections, symbols, notes and bytes at virtual addresses. Everything
// it returns stays valid while the ElfFile lives. Malformed or truncated files are rejected at
// open() or yield empty results — they never cause reads outside the mapping.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace gorepro {

struct ElfSection {
  std::string name;
  uint32_t type = 0;
  uint64_t flags = 0;
  uint64_t addr = 0;    // virtual address (0 for non-allocated sections)
  uint64_t offset = 0;  // file offset
  uint64_t size = 0;
  bool in_file() const;  // has bytes in the file (not NOBITS)
};

struct ElfSymbol {
  std::string name;
  uint64_t value = 0;
  uint64_t size = 0;
  uint8_t type = 0;  // STT_*
};

class ElfFile {
 public:
  // Opens and validates path: a regular readable file, ELF64, little-endian x86-64, ET_EXEC or
  // ET_DYN, section headers within the file.
  static Result<std::unique_ptr<ElfFile>> open(const std::string& path);
  ~ElfFile();
  ElfFile(const ElfFile&) = delete;
  ElfFile& operator=(const ElfFile&) = delete;

  const std::string& path() const { return path_; }
  bool is_pie() const { return is_pie_; }
  uint64_t entry() const { return entry_; }

  const std::vector<ElfSection>& sections() const { return sections_; }
  const ElfSection* section(std::string_view name) const;
  // Bytes of a section that lives in the file; empty for NOBITS or missing sections.
  std::span<const uint8_t> section_bytes(const ElfSection& s) const;
  std::span<const uint8_t> section_bytes(std::string_view name) const;

  // The .symtab symbols (function and object symbols); empty for stripped binaries.
  bool has_symtab() const { return !symbols_.empty(); }
  const ElfSymbol* symbol(std::string_view name) const;
  const std::vector<ElfSymbol>& symbols() const { return symbols_; }

  // Bytes at [vaddr, vaddr+len) if they all lie in one file-backed allocated section.
  std::optional<std::span<const uint8_t>> read(uint64_t vaddr, uint64_t len) const;
  // The allocated file-backed section containing vaddr, or null.
  const ElfSection* section_at(uint64_t vaddr) const;

  // Go's build id (.note.go.buildid) or, failing that, the GNU build id as hex; "" if none.
  std::string build_id() const;

 private:
  ElfFile() = default;
  std::string path_;
  const uint8_t* map_ = nullptr;
  size_t map_size_ = 0;
  bool is_pie_ = false;
  uint64_t entry_ = 0;
  std::vector<ElfSection> sections_;
  std::vector<ElfSymbol> symbols_;
  std::map<std::string, size_t, std::less<>> symbol_index_;
};

}  // namespace gorepro
