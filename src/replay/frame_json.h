// Source frames as JSON, the one spelling every machine-readable output uses (report, replay,
// diff): {"function", "file", "line"}.
#pragma once

#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "dwarf/symbolizer.h"

namespace gorepro::replay {

nlohmann::json frame_to_json(const SourceFrame& f);
nlohmann::json frames_to_json(const std::vector<SourceFrame>& frames);

}  // namespace gorepro::replay
