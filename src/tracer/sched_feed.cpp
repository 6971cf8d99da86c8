#include "tracer/sched_feed.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string_view>

#include "replay/byte_codec.h"

namespace gorepro::tracer {

namespace {

// The goids of a block's "  G<goid>: status=<n>..." lines, in order, each with whether the
// status is dead (6) (empty without scheddetail).
std::vector<std::pair<uint64_t, bool>> g_line_goids(std::string_view text) {
  std::vector<std::pair<uint64_t, bool>> out;
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(at, end - at);
    if (line.size() > 3 && line.substr(0, 3) == "  G" && std::isdigit(static_cast<unsigned char>(line[3]))) {
      size_t status = line.find(": status=");
      bool dead = status != std::string_view::npos && line.substr(status + 9, 2) == "6(";
      out.emplace_back(std::strtoull(std::string(line.substr(3, 20)).c_str(), nullptr, 10), dead);
    }
    at = end + 1;
  }
  return out;
}
// docs/trace-format.md, sched field 6: varint goid, varint (sched seq - position) per read.
std::string pack_reads(const std::vector<std::pair<uint64_t, uint64_t>>& reads, uint64_t seq) {
  std::vector<uint8_t> bytes;
  replay::ByteSink sink(bytes);
  for (auto [goid, pos] : reads) {
    sink.varint(goid);
    sink.varint(seq - pos);
  }
  return std::string(bytes.begin(), bytes.end());
}

}  // namespace

void SchedFeed::dump(uint64_t now_ns, bool begin) {
  if (capture_) capture_->set_dump_in_progress(begin);
  if (begin) {
    dumps_.push_back(Dump{now_ns, 0, {}, false});
    if (dumps_.size() > 64) dumps_.pop_front();
  } else if (!dumps_.empty() && !dumps_.back().end_ns) {
    Dump& d = dumps_.back();
    d.end_ns = now_ns;
    if (pacer_) d.interval_ms = static_cast<uint32_t>(pacer_->dump_ended(d.begin_ns, d.end_ns));
  }
}

void SchedFeed::g_read(uint64_t goid) {
  if (!dumps_.empty() && !dumps_.back().end_ns) dumps_.back().reads.emplace_back(goid, w_.events_written());
}

void SchedFeed::reads_capped() {
  if (!dumps_.empty() && !dumps_.back().end_ns) dumps_.back().capped = true;
}

Status SchedFeed::feed(uint64_t time_ns, bool all) {
  if (capture_ && capture_->has_blocks()) {
    for (auto& b : capture_->take(time_ns)) pending_.push_back(std::move(b));
  }
  while (!pending_.empty()) {
    const auto& b = pending_.front();
    Dump d;
    // The dump a block came from: the last one not yet paired that began before the block's
    // first byte arrived. With scheddetail, only among dumps whose reads name the block's G
    // lines' goroutines in order — consecutive dumps often list the same goroutines, and a
    // block drained late must not take the next dump's reads.
    // A dead g's line may name the goroutine that reused it a moment after our read.
    const std::vector<std::pair<uint64_t, bool>> goids = g_line_goids(b.text);
    // A capped dump's reads name the first of its G lines only.
    auto reads_match = [&](const Dump& x) {
      if (x.capped ? x.reads.size() > goids.size() : x.reads.size() != goids.size()) return false;
      return std::equal(x.reads.begin(), x.reads.end(), goids.begin(),
                        [](const auto& r, const auto& g) { return g.first == r.first || g.second; });
    };
    bool any_match = false;
    for (const Dump& x : dumps_) any_match = any_match || (!x.paired && !goids.empty() && reads_match(x));
    auto found = dumps_.rend();
    for (auto it = dumps_.rbegin(); it != dumps_.rend(); ++it) {
      if (it->paired || (any_match && !reads_match(*it))) continue;
      found = it;
      if (it->begin_ns <= b.first_ns) break;
    }
    if (found != dumps_.rend()) {
      found->paired = true;
      d = *found;
      // A later dump began: this one has ended, even if its return was not seen.
      if (!d.end_ns && found != dumps_.rbegin()) d.end_ns = std::prev(found)->begin_ns;
      if (!reads_match(d)) d.reads.clear();  // they belong to no block we can tell
    }
    if (d.begin_ns && !d.end_ns && !all) {  // still printing: its end will come
      if (found != dumps_.rend()) found->paired = false;
      break;
    }
    uint64_t t = std::max({b.first_ns, d.end_ns, last_});
    last_ = t;
    appended_++;
    replay::Event e = replay::Event::sched(t, w_.intern_string(b.text), t - b.first_ns, b.last_ns - b.first_ns);
    e.dump_begin_ns = d.begin_ns, e.dump_end_ns = d.end_ns;
    e.interval_ms = d.interval_ms;
    if (!d.reads.empty()) e.g_reads = w_.intern_string(pack_reads(d.reads, w_.events_written()));
    if (auto st = w_.append(e); !st) return st;
    pending_.pop_front();
  }
  if (time_ns != UINT64_MAX) last_ = std::max(last_, time_ns);
  return Ok{};
}

}  // namespace gorepro::tracer
