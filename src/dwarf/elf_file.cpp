#include "dwarf/elf_file.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace gorepro {

namespace {

template <class T>
bool read_struct(const uint8_t* base, size_t size, uint64_t off, T* out) {
  if (off > size || size - off < sizeof(T)) return false;
  std::memcpy(out, base + off, sizeof(T));
  return true;
}

std::string hex(std::span<const uint8_t> bytes) {
  std::string s;
  for (uint8_t b : bytes) s += fmt::format("{:02x}", b);
  return s;
}

}  // namespace

bool ElfSection::in_file() const { return type != SHT_NOBITS; }

Result<std::unique_ptr<ElfFile>> ElfFile::open(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return make_error(fmt::format("cannot open {}: {}", path, std::strerror(errno)),
                      "check the path of the Go binary");
  }
  if (!S_ISREG(st.st_mode)) {
    return make_error(fmt::format("{} is not a regular file", path), "pass the path of a Go executable");
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return make_error(fmt::format("cannot open {}: {}", path, std::strerror(errno)),
                      "check the file's permissions");
  }
  size_t size = static_cast<size_t>(st.st_size);
  const char not_elf_hint[] = "gorepro works on Go executables for linux/amd64";
  if (size < sizeof(Elf64_Ehdr)) {
    ::close(fd);
    return make_error(fmt::format("{} is not an ELF file (only {} bytes)", path, size), not_elf_hint);
  }
  void* m = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (m == MAP_FAILED) {
    return make_error(fmt::format("cannot map {}: {}", path, std::strerror(errno)), "");
  }
  std::unique_ptr<ElfFile> f(new ElfFile());
  f->path_ = path;
  f->map_ = static_cast<const uint8_t*>(m);
  f->map_size_ = size;

  Elf64_Ehdr eh;
  read_struct(f->map_, size, 0, &eh);
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) {
    return make_error(fmt::format("{} is not an ELF file", path), not_elf_hint);
  }
  if (eh.e_ident[EI_CLASS] != ELFCLASS64) {
    return make_error(fmt::format("{} is a 32-bit ELF file", path),
                      "gorepro supports 64-bit x86-64 (linux/amd64) Go binaries only");
  }
  if (eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_X86_64) {
    return make_error(fmt::format("{} is not an x86-64 binary (ELF machine {})", path, eh.e_machine),
                      "gorepro supports linux/amd64 Go binaries only; build with GOARCH=amd64");
  }
  if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) {
    return make_error(fmt::format("{} is not an executable (ELF type {})", path, eh.e_type),
                      "pass a Go executable, not an object file or core dump");
  }
  f->is_pie_ = eh.e_type == ET_DYN;
  f->entry_ = eh.e_entry;

  const std::string truncated = fmt::format("{} is truncated or corrupt", path);
  const char truncated_hint[] = "rebuild the binary or copy it again";
  if (eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shnum == 0 || eh.e_shstrndx >= eh.e_shnum ||
      eh.e_shoff > size || (size - eh.e_shoff) / sizeof(Elf64_Shdr) < eh.e_shnum) {
    return make_error(truncated + " (section headers out of range)", truncated_hint);
  }
  std::vector<Elf64_Shdr> shdrs(eh.e_shnum);
  for (size_t i = 0; i < shdrs.size(); i++) {
    read_struct(f->map_, size, eh.e_shoff + i * sizeof(Elf64_Shdr), &shdrs[i]);
  }
  const Elf64_Shdr& strsh = shdrs[eh.e_shstrndx];
  if (strsh.sh_offset > size || strsh.sh_size > size - strsh.sh_offset) {
    return make_error(truncated + " (section names out of range)", truncated_hint);
  }
  auto name_at = [&](const Elf64_Shdr& table, uint32_t off) -> std::string {
    if (off >= table.sh_size) return {};
    const char* p = reinterpret_cast<const char*>(f->map_ + table.sh_offset + off);
    return std::string(p, strnlen(p, table.sh_size - off));
  };
  for (const Elf64_Shdr& sh : shdrs) {
    ElfSection s;
    s.name = name_at(strsh, sh.sh_name);
    s.type = sh.sh_type;
    s.flags = sh.sh_flags;
    s.addr = sh.sh_addr;
    s.offset = sh.sh_offset;
    s.size = sh.sh_size;
    if (s.in_file() && s.type != SHT_NULL && (s.offset > size || s.size > size - s.offset)) {
      return make_error(fmt::format("{} (section {} extends past the end of the file)", truncated, s.name),
                        truncated_hint);
    }
    f->sections_.push_back(std::move(s));
  }
  // Symbols: only .symtab (Go binaries have no useful .dynsym).
  for (size_t i = 0; i < shdrs.size(); i++) {
    const Elf64_Shdr& sh = shdrs[i];
    if (sh.sh_type != SHT_SYMTAB || sh.sh_link >= shdrs.size() || sh.sh_entsize != sizeof(Elf64_Sym)) continue;
    const Elf64_Shdr& strtab = shdrs[sh.sh_link];
    if (strtab.sh_offset > size || strtab.sh_size > size - strtab.sh_offset) continue;
    size_t n = sh.sh_size / sizeof(Elf64_Sym);
    for (size_t k = 1; k < n; k++) {
      Elf64_Sym sym;
      if (!read_struct(f->map_, size, sh.sh_offset + k * sizeof(Elf64_Sym), &sym)) break;
      uint8_t type = ELF64_ST_TYPE(sym.st_info);
      if (type != STT_FUNC && type != STT_OBJECT) continue;
      std::string name = name_at(strtab, sym.st_name);
      if (name.empty()) continue;
      f->symbol_index_.emplace(name, f->symbols_.size());
      f->symbols_.push_back(ElfSymbol{std::move(name), sym.st_value, sym.st_size, type});
    }
  }
  return f;
}

ElfFile::~ElfFile() {
  if (map_) ::munmap(const_cast<uint8_t*>(map_), map_size_);
}

const ElfSection* ElfFile::section(std::string_view name) const {
  for (const ElfSection& s : sections_) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

std::span<const uint8_t> ElfFile::section_bytes(const ElfSection& s) const {
  if (!s.in_file() || s.type == SHT_NULL) return {};
  return {map_ + s.offset, s.size};  // bounds checked at open()
}

std::span<const uint8_t> ElfFile::section_bytes(std::string_view name) const {
  const ElfSection* s = section(name);
  return s ? section_bytes(*s) : std::span<const uint8_t>{};
}

const ElfSymbol* ElfFile::symbol(std::string_view name) const {
  auto it = symbol_index_.find(name);
  return it == symbol_index_.end() ? nullptr : &symbols_[it->second];
}

const ElfSection* ElfFile::section_at(uint64_t vaddr) const {
  for (const ElfSection& s : sections_) {
    if ((s.flags & SHF_ALLOC) && s.in_file() && s.type != SHT_NULL && vaddr >= s.addr &&
        vaddr - s.addr < s.size) {
      return &s;
    }
  }
  return nullptr;
}

std::optional<std::span<const uint8_t>> ElfFile::read(uint64_t vaddr, uint64_t len) const {
  const ElfSection* s = section_at(vaddr);
  if (!s || len > s->size - (vaddr - s->addr)) return std::nullopt;
  return std::span<const uint8_t>(map_ + s->offset + (vaddr - s->addr), len);
}

std::string ElfFile::build_id() const {
  // Notes: namesz, descsz, type, name (padded to 4), desc (padded to 4).
  auto note_desc = [&](std::string_view section_name, std::string_view owner) -> std::span<const uint8_t> {
    std::span<const uint8_t> b = section_bytes(section_name);
    size_t off = 0;
    while (off + 12 <= b.size()) {
      uint32_t namesz, descsz, type;
      std::memcpy(&namesz, &b[off], 4);
      std::memcpy(&descsz, &b[off + 4], 4);
      std::memcpy(&type, &b[off + 8], 4);
      size_t name_off = off + 12;
      size_t desc_off = name_off + ((static_cast<size_t>(namesz) + 3) & ~size_t{3});
      if (namesz > b.size() || descsz > b.size() || desc_off > b.size() || descsz > b.size() - desc_off) break;
      // The owner name is NUL-terminated; Go pads "Go" to namesz 4 with NULs.
      std::string_view name(reinterpret_cast<const char*>(&b[name_off]), namesz);
      name = name.substr(0, name.find('\0'));
      if (name == owner) return b.subspan(desc_off, descsz);
      off = desc_off + ((static_cast<size_t>(descsz) + 3) & ~size_t{3});
    }
    return {};
  };
  auto go = note_desc(".note.go.buildid", "Go");
  if (!go.empty()) return std::string(reinterpret_cast<const char*>(go.data()), go.size());
  auto gnu = note_desc(".note.gnu.build-id", "GNU");
  return hex(gnu);
}

}  // namespace gorepro
