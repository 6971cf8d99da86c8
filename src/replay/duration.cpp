#include "replay/duration.h"

#include <cctype>
#include <cmath>

#include <fmt/format.h>

namespace gorepro::replay {

std::optional<uint64_t> parse_duration(std::string_view s) {
  if (s == "0") return 0;
  if (s.empty()) return std::nullopt;
  struct Unit {
    std::string_view unit;
    double ns;
  };
  static constexpr Unit kUnits[] = {
      {"ns", 1}, {"us", 1e3}, {"µs", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
  double total = 0;
  while (!s.empty()) {
    size_t i = 0;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    if (i == 0) return std::nullopt;
    double value;
    try {
      value = std::stod(std::string(s.substr(0, i)));
    } catch (...) {
      return std::nullopt;
    }
    s.remove_prefix(i);
    // Longest unit first so that "ms" is not read as "m".
    const Unit* best = nullptr;
    for (const auto& u : kUnits)
      if (s.starts_with(u.unit) && (!best || u.unit.size() > best->unit.size())) best = &u;
    if (!best) return std::nullopt;
    s.remove_prefix(best->unit.size());
    total += value * best->ns;
  }
  if (!(total < 1.8e19)) return std::nullopt;
  return static_cast<uint64_t>(std::llround(total));
}

std::string format_duration(uint64_t ns) {
  if (ns < 1000) return fmt::format("{}ns", ns);
  if (ns < 1'000'000) return fmt::format("{:.3g}µs", ns / 1e3);
  if (ns < 1'000'000'000) return fmt::format("{:.3g}ms", ns / 1e6);
  if (ns < 60'000'000'000ull) return fmt::format("{:.3g}s", ns / 1e9);
  uint64_t s = ns / 1'000'000'000ull;
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, (s / 60) % 60);
}

}  // namespace gorepro::replay
