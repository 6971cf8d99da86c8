// LeakVerdicts: what gorepro decided, at the report instant (the program's exit, or the end of
// an attached recording), about every goroutine alive — whether the ones that wait can ever wake
// — as the trace records it (extension record kind 10, docs/trace-format.md). Computed by
// src/verdict's heap scan of the stopped program; kept in the trace so every later read (report,
// check, export) shows the same verdicts. A reader that does not know kind 10 skips it.
//
// Verdicts: kLeaked — what it waits on is unreachable from everything that can still run (or it
// waits on nothing: a nil channel, `select {}`): it can never wake. kTimeIo — it waits on a timer,
// the netpoller or a system call. kMayWake — what it waits on is reachable from something that
// can run (or gorepro cannot say what it waits on). kRunning / kRunnable — not waiting.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gorepro::replay {

enum class Verdict : uint8_t { kRunning = 0, kRunnable = 1, kTimeIo = 2, kMayWake = 3, kLeaked = 4 };
inline constexpr uint8_t kVerdictCount = 5;
// "running", "runnable", "time_io", "may_wake", "leaked".
const char* to_string(Verdict v);
std::optional<Verdict> verdict_from_string(std::string_view s);

struct GoroutineVerdict {
  uint64_t goid = 0;
  Verdict verdict = Verdict::kRunning;
  std::vector<uint64_t> objects;  // what it waits on (channels of its sudogs, a semaphore address)
  std::string evidence;           // why, in words: "channel 0x… unreachable", "reached from main.jobs"

  bool operator==(const GoroutineVerdict&) const = default;
};

struct LeakVerdicts {
  uint64_t time_ns = 0;        // CLOCK_MONOTONIC of the scan (the report instant)
  uint64_t scan_ns = 0;        // how long the scan took (the target was stopped meanwhile)
  uint64_t bytes_scanned = 0;  // memory read and scanned: globals, stacks, heap objects
  uint64_t heap_bytes = 0;     // in-use heap spans the scan could reach into
  std::vector<GoroutineVerdict> goroutines;

  bool operator==(const LeakVerdicts&) const = default;
  const GoroutineVerdict* find(uint64_t goid) const;
  size_t count(Verdict v) const;
};

// The record body (without tag and length) and back. Evidence strings go through the trace's
// string table: encode takes each goroutine's evidence string id, decode
// returns them.
std::vector<uint8_t> encode_leak_verdicts(const LeakVerdicts& v, const std::vector<uint64_t>& evidence_ids);
// Decodes the body; evidence_ids receives each goroutine's evidence string id (resolved later,
// when the string table is complete). False on a malformed body.
bool decode_leak_verdicts(std::span<const uint8_t> body, LeakVerdicts& out, std::vector<uint64_t>& evidence_ids);

}  // namespace gorepro::replay
