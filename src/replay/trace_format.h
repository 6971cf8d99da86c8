// The byte-level constants of the .gtr format shared by TraceWriter and TraceReader. The
// normative description is docs/trace-format.md; change both together.
#pragma once

#include <cstddef>
#include <cstdint>

namespace gorepro::replay::format {

// File preamble: magic (8) | major u16 | minor u16 | crc32c of the previous 12 bytes (4).
inline constexpr uint8_t kMagic[8] = {0x89, 'G', 'T', 'R', '\r', '\n', 0x1A, '\n'};
inline constexpr size_t kPreambleSize = 16;
// A reader accepts any minor version of its major: minor versions only add length-prefixed
// records, record fields or header keys that older readers skip.
// 2.0: record kind 8 (state) is an event; length-prefixed extension kinds start at 9.
// This reader also reads every 1.x trace.
inline constexpr uint16_t kMajorVersion = 2;
inline constexpr uint16_t kMinorVersion = 0;
inline constexpr uint16_t kOldestMajorVersion = 1;

// Chunk header: type u8 | flags u8 | reserved u16 (0) | stored_len u32 | raw_len u32 |
// payload crc32c u32 | header crc32c u32 (of the previous 16 bytes).
inline constexpr size_t kChunkHeaderSize = 20;
enum ChunkType : uint8_t { kChunkHeader = 1, kChunkEvents = 2, kChunkEnd = 3 };
inline constexpr uint8_t kChunkFlagZstd = 0x01;
// Bounds a reader enforces so hostile lengths cannot demand unbounded memory.
inline constexpr uint32_t kMaxChunkBytes = 64u << 20;

// Record tag: kind in the low 4 bits, flags above.
inline constexpr uint8_t kKindMask = 0x0F;
inline constexpr uint8_t kFlagTid = 0x10;       // a varint tid follows the tag
inline constexpr uint8_t kFlagOptional = 0x20;  // the kind's optional field is present
inline constexpr uint8_t kFlagsReserved = 0xC0;
enum RecordKind : uint8_t {
  kRecString = 0,
  kRecStack = 1,
  // 2..8: EventKind values (8, state, since 2.0)
  kRecFirstLengthPrefixedV1 = 8,  // format 1.x: kinds 8..15 are tag, varint length, body
  kRecFirstLengthPrefixed = 9,    // format 2.x: kinds 9..15 — skipped if unknown
  kRecVerdicts = 10,              // 2.x extension: leak verdicts at the report instant (leak_verdicts.h)
  kRecLabels = 9,                 // 2.x extension: a goroutine's pprof labels at the event before (labels.h)
  kRecLostEvents = 11,            // 2.x extension: events the transport dropped (lost_events.h)
  kRecSnapshot = 12,              // 2.x extension: a goroutine snapshot was taken (snapshot_mark.h)
};

// Snapshot record body fields (key = field << 1 | wire, as in sched bodies; all varints).
inline constexpr uint64_t kSnapFieldTime = 1;        // CLOCK_MONOTONIC ns the read began (required)
inline constexpr uint64_t kSnapFieldInterval = 2;    // ns between snapshots
inline constexpr uint64_t kSnapFieldReadNs = 3;      // ns the read took
inline constexpr uint64_t kSnapFieldGoroutines = 4;  // live goroutines seen
inline constexpr uint64_t kSnapFieldRetries = 5;     // reads redone: the list moved meanwhile
// A kind-12 record with field 6 = 1 opens a flight-recorder window (record --ring) instead:
// field 1 is then the window's start, field 4 the goroutines alive then (the preexisting
// records before the mark), and fields 7-9 say what the recording left out and why.
inline constexpr uint64_t kSnapFieldWindow = 6;        // 1: flight-recorder window start
inline constexpr uint64_t kSnapFieldDropped = 7;       // events recorded before the window, left out
inline constexpr uint64_t kSnapFieldWindowNs = 8;      // --ring time bound, ns (absent: none)
inline constexpr uint64_t kSnapFieldWindowBytes = 9;   // --ring size bound, bytes (absent: none)

// Leak-verdicts record body fields (key = field << 1 | wire, as in sched bodies).
inline constexpr uint64_t kVerdictFieldTime = 1;       // varint: CLOCK_MONOTONIC ns of the scan (required)
inline constexpr uint64_t kVerdictFieldScanNs = 2;     // varint: ns the scan took
inline constexpr uint64_t kVerdictFieldBytes = 3;      // varint: bytes scanned
inline constexpr uint64_t kVerdictFieldHeap = 4;       // varint: bytes of in-use heap spans
inline constexpr uint64_t kVerdictFieldGoroutine = 5;  // bytes, repeated: one goroutine's verdict

// Lost-events record body fields (key = field << 1 | wire, as in sched bodies).
inline constexpr uint64_t kLostFieldCount = 1;         // varint: events dropped
inline constexpr uint64_t kLostFieldUnattributed = 2;  // varint: of those, about no named goroutine
inline constexpr uint64_t kLostFieldGoids = 3;         // bytes: ascending goids as varint deltas
inline constexpr uint64_t kLostFieldTime = 4;          // varint: CLOCK_MONOTONIC ns noticed

// Sched record body fields: key = field << 1 | wire (0 varint, 1 length-delimited).
inline constexpr uint64_t kSchedFieldText = 1;
// 1.1: when the block's first byte arrived, as time minus that (the event's time is clamped to
// keep times non-decreasing), and how long the block took to arrive (last byte minus first).
inline constexpr uint64_t kSchedFieldLag = 2;
inline constexpr uint64_t kSchedFieldSpan = 3;
// 1.1: where the tracer saw the runtime begin and end the dump (probes on runtime.schedtrace),
// as time minus each: exact positions among the other events, unlike arrival times.
inline constexpr uint64_t kSchedFieldBegin = 4;
inline constexpr uint64_t kSchedFieldEnd = 5;
// 2.0: string id of the goroutine reads: for each G line of the dump, in order, the goid and
// where the runtime read that goroutine's status among the events — varint goid, varint
// (sched event's seq - position), position = the seq of the first event after the read.
inline constexpr uint64_t kSchedFieldGReads = 6;
// The runtime's dump interval (ms) from this dump on, present when `record` changed it after this
// dump so that dumps take at most a share of the program's time (tracer/sched_pacer.h).
inline constexpr uint64_t kSchedFieldInterval = 7;

}  // namespace gorepro::replay::format
