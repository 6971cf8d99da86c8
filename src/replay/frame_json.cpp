#include "replay/frame_json.h"

#include <nlohmann/json.hpp>

namespace gorepro::replay {

nlohmann::json frame_to_json(const SourceFrame& f) {
  return {{"function", f.function}, {"file", f.file}, {"line", f.line}};
}

nlohmann::json frames_to_json(const std::vector<SourceFrame>& frames) {
  auto a = nlohmann::json::array();
  for (const auto& f : frames) a.push_back(frame_to_json(f));
  return a;
}

}  // namespace gorepro::replay
