#include "replay/labels.h"

#include "replay/byte_codec.h"

namespace gorepro::replay {

std::vector<uint8_t> encode_labels(uint64_t goid, std::span<const std::pair<StringId, StringId>> pairs) {
  std::vector<uint8_t> body;
  ByteSink s(body);
  s.varint(goid);
  s.varint(pairs.size());
  for (auto [k, v] : pairs) {
    s.varint(k);
    s.varint(v);
  }
  return body;
}

bool decode_labels(std::span<const uint8_t> body, uint64_t& goid, std::vector<std::pair<StringId, StringId>>& out) {
  out.clear();
  ByteSource src(body);
  uint64_t count;
  if (!src.varint(goid) || !src.varint(count) || count > src.remaining() / 2) return false;
  for (uint64_t i = 0; i < count; i++) {
    uint64_t k, v;
    if (!src.varint(k) || !src.varint(v) || k > UINT32_MAX || v > UINT32_MAX) return false;
    out.emplace_back(static_cast<StringId>(k), static_cast<StringId>(v));
  }
  return src.empty();
}

std::string format_labels(const Labels& labels) {
  std::string out;
  for (const Label& l : labels) {
    if (!out.empty()) out += ',';
    out += l.key;
    out += '=';
    out += l.value;
  }
  return out;
}

const std::string* label_value(const Labels& labels, std::string_view key) {
  for (const Label& l : labels) {
    if (l.key == key) return &l.value;
  }
  return nullptr;
}

std::optional<LabelFilter> parse_label_filter(std::string_view text) {
  size_t eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) return std::nullopt;
  return LabelFilter{std::string(text.substr(0, eq)), std::string(text.substr(eq + 1))};
}

}  // namespace gorepro::replay
