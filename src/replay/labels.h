// Labels: a goroutine's pprof labels (`pprof.Do`, `pprof.SetGoroutineLabels`) as gorepro reads
// them from the runtime's g.labels and as the trace records them (extension record kind 9,
// docs/trace-format.md): the labels a goroutine had at an event — written right after that
// event, about the same goroutine — replacing what it had before. An empty set means the
// goroutine has no labels (any more). A reader that does not know kind 9 skips it: the events
// stay a valid trace, without labels.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "replay/event.h"

namespace gorepro::replay {

struct Label {
  std::string key, value;
  bool operator==(const Label&) const = default;
  auto operator<=>(const Label&) const = default;
};
// Sorted by key, keys unique (as both runtime forms keep them).
using Labels = std::vector<Label>;

// The record body (without tag and length): `goid:varint count:varint (key value)*`, key and
// value string ids (varint) into the trace's string table. Decode fails on a malformed body.
std::vector<uint8_t> encode_labels(uint64_t goid, std::span<const std::pair<StringId, StringId>> pairs);
bool decode_labels(std::span<const uint8_t> body, uint64_t& goid, std::vector<std::pair<StringId, StringId>>& out);

// "handler=slow,user=7" (sorted by key); "" for none.
std::string format_labels(const Labels& labels);
// The value of key, or nullptr.
const std::string* label_value(const Labels& labels, std::string_view key);

// A KEY=VALUE filter as `report --label` / `check --label` take it; nullopt when it has no '='
// or an empty key.
struct LabelFilter {
  std::string key, value;
  bool matches(const Labels& labels) const {
    const std::string* v = label_value(labels, key);
    return v && *v == value;
  }
};
std::optional<LabelFilter> parse_label_filter(std::string_view text);

}  // namespace gorepro::replay
