#include "dwarf/go_version.h"

#include <charconv>

#include <fmt/format.h>

#include "dwarf/runtime_layout.h"

namespace gorepro {

std::optional<GoVersion> GoVersion::parse(std::string_view s) {
  if (s.substr(0, 2) != "go") return std::nullopt;
  s.remove_prefix(2);
  int parts[3] = {0, 0, 0};
  for (int i = 0; i < 3 && !s.empty(); i++) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), parts[i]);
    if (ec != std::errc() || p == s.data()) {
      if (i < 2) return std::nullopt;
      break;
    }
    s.remove_prefix(static_cast<size_t>(p - s.data()));
    if (s.empty() || s[0] != '.') break;  // "rc1", " X:..." or end
    s.remove_prefix(1);
  }
  if (parts[0] != 1) return std::nullopt;
  return GoVersion{parts[0], parts[1], parts[2]};
}

std::string GoVersion::minor_name() const { return fmt::format("go{}.{}", major, minor); }

const std::vector<std::string>& supported_go_minors() {
  // The versions the generated layout table covers: scripts/gen-layout-table.sh makes one entry
  // per version in cmake/GoPrograms.cmake's GOREPRO_GO_VERSIONS, the test matrix.
  static const std::vector<std::string> v = RuntimeLayout::table_versions();
  return v;
}

bool is_supported(const GoVersion& v) {
  for (const std::string& m : supported_go_minors()) {
    if (m == v.minor_name()) return true;
  }
  return false;
}

bool is_readable(const GoVersion& v) { return v.major == 1 && v.minor >= 18; }

std::string join(const std::vector<std::string>& versions) {
  std::string out;
  for (const std::string& v : versions) out += (out.empty() ? "" : ", ") + v;
  return out;
}

}  // namespace gorepro
