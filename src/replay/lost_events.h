// LostEvents: events a backend's transport dropped — the eBPF ring buffer had no room — as the
// trace records them (extension record kind 11, docs/trace-format.md). A record covers the
// losses noticed since the previous one and sits where they were noticed among the events, so
// what it lists happened between the previous loss record and it. A trace with losses stays
// readable; the goroutines named have incomplete histories (a missing park, ready or exit),
// which `report` says.
#pragma once

#include <cstdint>
#include <set>
#include <span>
#include <vector>

namespace gorepro::replay {

struct LostEvents {
  uint64_t time_ns = 0;          // when the losses were noticed (CLOCK_MONOTONIC)
  uint64_t count = 0;            // events dropped
  uint64_t unattributed = 0;     // ... of which about no goroutine gorepro could name
  std::vector<uint64_t> goids;   // goroutines at least one dropped event was about, ascending

  bool operator==(const LostEvents&) const = default;
};

// The record body (without tag and length) and back; decode fails on a malformed body.
std::vector<uint8_t> encode_lost_events(const LostEvents& lost);
bool decode_lost_events(std::span<const uint8_t> body, LostEvents& out);

// Every loss record of a trace, summed.
struct LossSummary {
  uint64_t records = 0;
  uint64_t count = 0;
  uint64_t unattributed = 0;
  std::set<uint64_t> goids;
  uint64_t first_before_seq = 0;  // the first loss happened before this event (seq)

  bool any() const { return count != 0; }
  void add(const LostEvents& lost, uint64_t before_seq);
};

}  // namespace gorepro::replay
