#include "dwarf/build_info.h"

#include <cstring>
#include <sstream>

#include <fmt/format.h>

namespace gorepro {

namespace {

constexpr char kMagic[] = "\xff Go buildinf:";
constexpr size_t kMagicLen = 14;
constexpr size_t kHeaderLen = 32;
constexpr uint8_t kFlagInlineStrings = 0x2;  // Go 1.18+: strings follow the header

// Reads a uvarint-prefixed string at *off, advancing it; false when out of bounds.
bool read_varint_string(std::span<const uint8_t> b, size_t* off, std::string* out) {
  uint64_t len = 0;
  int shift = 0;
  while (true) {
    if (*off >= b.size() || shift > 63) return false;
    uint8_t c = b[(*off)++];
    len |= static_cast<uint64_t>(c & 0x7f) << shift;
    if (!(c & 0x80)) break;
    shift += 7;
  }
  if (len > b.size() - *off) return false;
  out->assign(reinterpret_cast<const char*>(b.data() + *off), len);
  *off += len;
  return true;
}

// Before Go 1.18 the header holds pointers to Go string headers {ptr, len}.
bool read_string_at(const ElfFile& elf, uint64_t header_addr, std::string* out) {
  auto hdr = elf.read(header_addr, 16);
  if (!hdr) return false;
  uint64_t ptr, len;
  std::memcpy(&ptr, hdr->data(), 8);
  std::memcpy(&len, hdr->data() + 8, 8);
  if (len == 0) { out->clear(); return true; }
  auto bytes = elf.read(ptr, len);
  if (!bytes) return false;
  out->assign(reinterpret_cast<const char*>(bytes->data()), len);
  return true;
}

std::string module_from_modinfo(const std::string& modinfo) {
  std::istringstream in(modinfo);
  std::string path;
  for (std::string line; std::getline(in, line);) {
    auto tab = line.find('\t');
    if (tab == std::string::npos) continue;
    std::string key = line.substr(0, tab);
    std::string rest = line.substr(tab + 1);
    std::string first = rest.substr(0, rest.find('\t'));
    if (key == "mod") return first;
    if (key == "path" && path.empty()) path = first;
  }
  return path;
}

}  // namespace

bool BuildInfo::present(const ElfFile& elf) {
  const ElfSection* sec = elf.section(".go.buildinfo");
  if (!sec) return false;
  std::span<const uint8_t> b = elf.section_bytes(*sec);
  return b.size() >= kHeaderLen && std::memcmp(b.data(), kMagic, kMagicLen) == 0;
}

Result<BuildInfo> BuildInfo::read(const ElfFile& elf) {
  const std::string not_go = fmt::format("{} is not a Go binary (no Go build information)", elf.path());
  const char not_go_hint[] = "gorepro traces programs built by the Go toolchain (go build)";
  const ElfSection* sec = elf.section(".go.buildinfo");
  std::span<const uint8_t> b;
  if (sec) b = elf.section_bytes(*sec);
  if (b.size() < kHeaderLen || std::memcmp(b.data(), kMagic, kMagicLen) != 0) {
    return make_error(not_go, not_go_hint);
  }
  uint8_t ptr_size = b[14];
  uint8_t flags = b[15];
  BuildInfo info;
  if (flags & kFlagInlineStrings) {
    size_t off = kHeaderLen;
    if (!read_varint_string(b, &off, &info.go_version) || !read_varint_string(b, &off, &info.modinfo)) {
      return make_error(fmt::format("{}: Go build information is truncated", elf.path()),
                        "rebuild the binary or copy it again");
    }
  } else {
    if (ptr_size != 8) return make_error(not_go + " (unexpected pointer size)", not_go_hint);
    uint64_t vptr, mptr;
    std::memcpy(&vptr, b.data() + 16, 8);
    std::memcpy(&mptr, b.data() + 24, 8);
    if (!read_string_at(elf, vptr, &info.go_version) || !read_string_at(elf, mptr, &info.modinfo)) {
      return make_error(fmt::format("{}: Go build information is unreadable", elf.path()),
                        "rebuild the binary or copy it again");
    }
  }
  // modinfo is wrapped in 16-byte sentinels; the text in between is what matters.
  if (info.modinfo.size() >= 33 && info.modinfo[info.modinfo.size() - 17] == '\n') {
    info.modinfo = info.modinfo.substr(16, info.modinfo.size() - 32);
  }
  info.module_path = module_from_modinfo(info.modinfo);
  if (info.go_version.empty()) return make_error(not_go, not_go_hint);
  return info;
}

}  // namespace gorepro
