// SnapshotMark: one goroutine snapshot of a sampled recording (`record --snapshot`), as the
// trace records it (extension record kind 12, docs/trace-format.md). A snapshot recording has
// no probes: every interval it reads the goroutine list and writes the differences from the
// previous read as ordinary events, then this mark. So a sampled trace's events are exact at
// each mark and say nothing of what happened between two marks (a goroutine that came and went,
// a park and wake). A reader that does not know kind 12 skips it and reads the events alone.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace gorepro::replay {

struct SnapshotMark {
  uint64_t time_ns = 0;      // CLOCK_MONOTONIC when the read began (the time of its events)
  uint64_t interval_ns = 0;  // the recording's interval between snapshots
  uint64_t read_ns = 0;      // how long the read took (the window it is spread over)
  uint64_t goroutines = 0;   // live goroutines it saw
  uint64_t retries = 0;      // reads redone because the goroutine list moved meanwhile
  // A flight-recorder window's start (record --ring) rather than a snapshot: the trace holds
  // only the recording's last window; time_ns is where it starts and `goroutines` the ones
  // alive then, written just before this mark as preexisting records.
  bool window = false;
  uint64_t dropped_events = 0;  // events recorded before the window and left out
  uint64_t window_ns = 0;       // the --ring time bound (0: none)
  uint64_t window_bytes = 0;    // the --ring size bound (0: none)

  bool operator==(const SnapshotMark&) const = default;
};

// The record body (without tag and length) and back; decode fails on a malformed body.
std::vector<uint8_t> encode_snapshot_mark(const SnapshotMark& mark);
bool decode_snapshot_mark(std::span<const uint8_t> body, SnapshotMark& out);

// Every snapshot mark of a trace, summed: whether the trace is sampled, and how finely.
struct SnapshotSummary {
  uint64_t count = 0;
  uint64_t interval_ns = 0;  // of the last mark
  uint64_t first_ns = 0, last_ns = 0;
  uint64_t max_read_ns = 0;
  uint64_t retries = 0;
  std::vector<uint64_t> times;  // of every mark, in order

  bool sampled() const { return count != 0; }
  void add(const SnapshotMark& mark);
};

}  // namespace gorepro::replay
