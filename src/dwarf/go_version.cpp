#include "dwarf/go_version.h"

#include <charconv>

#include <fmt/format.h>

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
  static const std::vector<std::string> v = {"go1.19", "go1.21", "go1.22", "go1.23"};
  return v;
}

bool is_supported(const GoVersion& v) {
  for (const std::string& m : supported_go_minors()) {
    if (m == v.minor_name()) return true;
  }
  return false;
}

}  // namespace gorepro
