// Checks of `gorepro report --format json` output against a program's `// want leak:` marks.
#pragma once

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/marks.h"

namespace gorepro::testing {

// The goroutines at the mark's go statement are exactly its count, all found alive at attach
// (preexisting), each waiting for a reason the mark accepts.
inline void expect_preexisting_leak(const std::string& report_json, const LeakMark& mark) {
  auto j = nlohmann::json::parse(report_json);
  int alive = 0, pre = 0;
  for (const auto& g : j["groups"]) {
    if (g["creation_site"]["file"] == mark.file && g["creation_site"]["line"] == mark.line) {
      alive += g["alive"].get<int>();
      pre += g["preexisting"].get<int>();
      EXPECT_TRUE(mark.accepts(g["wait_reason"].get<std::string>())) << g.dump();
    }
  }
  EXPECT_EQ(alive, mark.count) << report_json;
  EXPECT_EQ(pre, mark.count) << report_json;
}

}  // namespace gorepro::testing
