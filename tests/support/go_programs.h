// Where the test suite's Go programs were built: one binary per program, Go version and
// stripping, by cmake/GoPrograms.cmake. Tests iterate go_versions() so every supported
// toolchain is covered; a toolchain missing at configure time is a failing test, not a skip.
#pragma once

#include <sstream>
#include <string>
#include <vector>

namespace gorepro::testing {

inline std::vector<std::string> supported_go_versions() {
  std::vector<std::string> out;
  std::stringstream ss(GOREPRO_GO_VERSIONS);  // "1.19;1.21;..."
  for (std::string v; std::getline(ss, v, ';');) out.push_back(v);
  return out;
}

inline std::vector<std::string> built_go_versions() {
  std::vector<std::string> out;
  std::stringstream ss(GOREPRO_GO_FOUND_VERSIONS);
  for (std::string v; std::getline(ss, v, ';');) {
    if (!v.empty()) out.push_back(v);
  }
  return out;
}

inline std::string go_program(const std::string& name, const std::string& version, bool stripped) {
  return std::string(GOREPRO_GO_OUT) + "/go" + version + "/" + name + (stripped ? ".stripped" : "");
}

inline std::string go_source_dir(const std::string& rel) {
  return std::string(GOREPRO_SOURCE_DIR) + "/" + rel;
}

inline std::string gorepro_binary() { return GOREPRO_BINARY; }

}  // namespace gorepro::testing
