// Where the test suite's Go programs were built: one binary per program, Go version and
// stripping, by cmake/GoPrograms.cmake. Tests iterate built_go_versions() so every supported
// toolchain is covered; a toolchain missing at configure time is a failing test, not a skip.
// GOREPRO_TEST_GO=1.26 narrows built_go_versions() to that one toolchain: scripts/test.sh runs
// the end-to-end tests once per version that way, to say what passed on each.
#pragma once

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
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

// Every toolchain cmake found, oldest first, whatever GOREPRO_TEST_GO says.
inline std::vector<std::string> found_go_versions() {
  std::vector<std::string> out;
  std::stringstream ss(GOREPRO_GO_FOUND_VERSIONS);
  for (std::string v; std::getline(ss, v, ';');) {
    if (!v.empty()) out.push_back(v);
  }
  return out;
}

// The toolchains tests run on: found_go_versions(), or the one GOREPRO_TEST_GO names (even when
// it was not found: its tests then fail on the missing binaries).
inline std::vector<std::string> built_go_versions() {
  if (const char* only = std::getenv("GOREPRO_TEST_GO"); only && *only) return {only};
  return found_go_versions();
}

// The newest toolchain found. What a backend does that no Go version changes (exec, child
// processes, signals, detaching, load bias, losses) is tested with it alone, not once per
// toolchain: with GOREPRO_TEST_GO naming another, such tests skip.
inline std::string newest_go_version() {
  auto found = found_go_versions();
  return found.empty() ? "" : found.back();
}

inline std::string go_program(const std::string& name, const std::string& version, bool stripped) {
  return std::string(GOREPRO_GO_OUT) + "/go" + version + "/" + name + (stripped ? ".stripped" : "");
}

// GOROOT of toolchain 1.NN as cmake found it (`go env GOROOT`): its runtime sources are the truth
// tests hold gorepro's view of a binary against. "" when not found.
inline std::string go_root(const std::string& version) {
  std::stringstream ss(GOREPRO_GO_ROOTS);  // "1.19=/usr/lib/go-1.19;..."
  for (std::string kv; std::getline(ss, kv, ';');) {
    if (kv.starts_with(version + "=")) return kv.substr(version.size() + 1);
  }
  return "";
}

inline std::string go_source_dir(const std::string& rel) {
  return std::string(GOREPRO_SOURCE_DIR) + "/" + rel;
}

// Whether examples/NAME leaks only under some schedules: its main.go has a `// may leak:` mark.
inline bool example_is_intermittent(const std::string& name) {
  std::ifstream in(go_source_dir("examples/" + name + "/main.go"));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str().find("// may leak:") != std::string::npos;
}

// The examples (examples/NAME/main.go), sorted: the programs whose `// want leak:` marks every
// backend's recording is held against. The intermittent ones (examples/race*), whose leak
// depends on the schedule, are left out unless asked for: `gorepro repro` tests force them.
inline std::vector<std::string> example_names(bool intermittent = false) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(go_source_dir("examples"))) {
    if (!e.is_directory() || !std::filesystem::exists(e.path() / "main.go")) continue;
    const std::string name = e.path().filename().string();
    if (example_is_intermittent(name) == intermittent) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

inline std::string gorepro_binary() { return GOREPRO_BINARY; }

// The `go` command of toolchain 1.NN as cmake found it; "" when not found.
inline std::string go_tool(const std::string& version) {
  std::stringstream ss(GOREPRO_GO_BINS);  // "1.19=/usr/lib/go-1.19/bin/go;..."
  for (std::string kv; std::getline(ss, kv, ';');)
    if (kv.starts_with(version + "=")) return kv.substr(version.size() + 1);
  return "";
}

// "go126" for "1.26": a test-name suffix for tests run per Go version.
inline std::string go_version_name(std::string version) {
  version.erase(std::remove(version.begin(), version.end(), '.'), version.end());
  return "go" + version;
}


}  // namespace gorepro::testing
