// Snapshot records (trace format kind 12): a sampled recording (`record --snapshot`) marks each
// goroutine-list read after the events it produced. The marks survive the round trip, are not
// events (seqs stay dense), and make `report` say the trace is sampled, in text and JSON.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "replay/byte_codec.h"
#include "replay/leak_report.h"
#include "replay/snapshot_mark.h"
#include "replay/trace_format.h"
#include "replay_test_support.h"

namespace gorepro::replay {
namespace {

using namespace testing;

TEST(SnapshotMark, BodyRoundTripsSkipsNewerFieldsAndNeedsATime) {
  SnapshotMark m{.time_ns = 123456789, .interval_ns = 1'000'000'000, .read_ns = 5000, .goroutines = 1001, .retries = 2};
  SnapshotMark back;
  ASSERT_TRUE(decode_snapshot_mark(encode_snapshot_mark(m), back));
  EXPECT_EQ(back, m);
  SnapshotMark bare{.time_ns = 0};
  ASSERT_TRUE(decode_snapshot_mark(encode_snapshot_mark(bare), back));  // time 0 is still written
  EXPECT_EQ(back, bare);
  std::vector<uint8_t> newer = encode_snapshot_mark(m);
  ByteSink n(newer);
  n.varint(13 << 1), n.varint(77);  // fields 6-9 are the flight-recorder window's
  n.varint(10 << 1 | 1), n.varint(3), n.bytes("abc");
  ASSERT_TRUE(decode_snapshot_mark(newer, back));
  EXPECT_EQ(back, m);
  SnapshotMark window{.time_ns = 5, .goroutines = 3, .window = true, .dropped_events = 1000,
                      .window_ns = 300'000'000'000, .window_bytes = 1 << 20};
  ASSERT_TRUE(decode_snapshot_mark(encode_snapshot_mark(window), back));
  EXPECT_EQ(back, window);
  std::vector<uint8_t> truncated = encode_snapshot_mark(m);
  truncated.pop_back();
  EXPECT_FALSE(decode_snapshot_mark(truncated, back));
  std::vector<uint8_t> timeless;
  ByteSink t(timeless);
  t.varint(format::kSnapFieldGoroutines << 1), t.varint(4);
  EXPECT_FALSE(decode_snapshot_mark(timeless, back));
}

TEST(SnapshotMark, ReaderCollectsThemAndReportSaysTheTraceIsSampled) {
  constexpr uint64_t kSecond = 1'000'000'000;
  const uint64_t b = sample_header().clock.monotonic_ns + 1000;  // the first snapshot's time
  std::string path = write_trace("sampled.gtr", [&](TraceWriter& w) {
    StackId s = w.intern_stack(std::vector<uint64_t>{0x401000});
    ASSERT_TRUE(w.append(Event::preexisting(b, 10, 0, GoState::Waiting, kChanSend, 0x401000, 0x402000, s)));
    ASSERT_TRUE(w.append_snapshot({.time_ns = b, .interval_ns = kSecond, .goroutines = 1}));
    ASSERT_TRUE(w.append(Event::create(b + kSecond, 0, 10, 11, 0x401000, 0x402000, s)));
    ASSERT_TRUE(w.append(Event::park(b + kSecond, 0, 10, kChanSend, 0, s)));
    ASSERT_TRUE(w.append_snapshot({.time_ns = b + kSecond, .interval_ns = kSecond, .goroutines = 2, .retries = 1}));
    ASSERT_TRUE(w.flush());
    ASSERT_TRUE(w.append_snapshot({.time_ns = b + 2 * kSecond, .interval_ns = kSecond, .goroutines = 2}));
  });
  auto reader = TraceReader::open(path);
  ASSERT_TRUE(reader) << reader.error().message();
  EXPECT_EQ((*reader)->event_count(), 3u);  // marks are not events
  const SnapshotSummary& s = (*reader)->snapshots();
  EXPECT_TRUE(s.sampled());
  EXPECT_EQ(s.count, 3u);
  EXPECT_EQ(s.interval_ns, kSecond);
  EXPECT_EQ(s.retries, 1u);
  EXPECT_EQ(s.times, (std::vector<uint64_t>{b, b + kSecond, b + 2 * kSecond}));

  // The report's instant falls between the second and the third snapshot: it reflects the second.
  auto report = report_of_whole_trace(**reader, b + kSecond + kSecond / 2);
  ASSERT_TRUE(report) << report.error().message();
  EXPECT_EQ(report->snapshots, 3u);
  EXPECT_EQ(report->snapshot_at_ns, 1000 + kSecond);
  const std::string text = format_report_text(*report);
  EXPECT_NE(text.find("sampled: 3 goroutine snapshots every 1s"), std::string::npos) << text;
  auto j = report_to_json(*report);
  EXPECT_EQ(j["trace"]["sampled"]["snapshots"], 3);
  EXPECT_EQ(j["trace"]["sampled"]["interval_ns"], kSecond);
}

TEST(SnapshotMark, TraceThatFollowedEveryEventIsNotSampled) {
  std::string path = write_trace("unsampled.gtr", [](TraceWriter& w) {
    ASSERT_TRUE(w.append(Event::create(1000, 1, 1, 10, 0x401000, 0x402000, 0)));
  });
  auto reader = TraceReader::open(path);
  ASSERT_TRUE(reader);
  EXPECT_FALSE((*reader)->snapshots().sampled());
  auto report = report_of_whole_trace(**reader, 2000);
  ASSERT_TRUE(report);
  EXPECT_EQ(format_report_text(*report).find("sampled"), std::string::npos);
  EXPECT_TRUE(report_to_json(*report)["trace"]["sampled"].is_null());
}

}  // namespace
}  // namespace gorepro::replay
