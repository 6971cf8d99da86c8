// Output of `gorepro replay --json`: one JSON object per line.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace gorepro::replay::testing {

inline std::vector<nlohmann::json> json_lines(const std::string& out) {
  std::vector<nlohmann::json> lines;
  for (size_t start = 0; start < out.size();) {
    size_t end = out.find('\n', start);
    lines.push_back(nlohmann::json::parse(out.substr(start, end - start)));
    start = end + 1;
  }
  return lines;
}

}  // namespace gorepro::replay::testing
