// GoVersion: the toolchain version a binary was built with ("go1.22.12"), and which versions
// gorepro supports. The one place that says which Go versions exist for us.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gorepro {

struct GoVersion {
  int major = 0;
  int minor = 0;
  int patch = 0;

  static std::optional<GoVersion> parse(std::string_view s);  // "go1.22.12", "go1.21", "go1.23rc1"
  std::string minor_name() const;                             // "go1.22"
  auto operator<=>(const GoVersion&) const = default;
};

// Go versions whose runtime layout gorepro knows and tests (linux/amd64): those of the generated
// layout table (stripped binaries), on each of which the whole test suite runs.
const std::vector<std::string>& supported_go_minors();  // {"go1.19", …, "go1.27"}
bool is_supported(const GoVersion& v);
// Versions whose binaries gorepro can read at all (Go 1.18+: the pclntab and build-info layouts
// it parses). Those not supported work through their DWARF, with a warning that they are untested.
bool is_readable(const GoVersion& v);
// "go1.19, go1.21, …": a version list for messages.
std::string join(const std::vector<std::string>& versions);

}  // namespace gorepro
