// Go-style durations on the command line ("1.5s", "200ms", "1m30s") and back.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gorepro::replay {

// Nanoseconds for a duration such as "250ms" or "1h2m3.5s"; units ns, us, µs, ms, s, m, h.
// A bare "0" is accepted; anything else without a unit is not (nullopt).
std::optional<uint64_t> parse_duration(std::string_view text);
// Short human form: "850ns", "12.3µs", "4.56ms", "1.23s", "2m03s", "1h02m".
std::string format_duration(uint64_t ns);

}  // namespace gorepro::replay
