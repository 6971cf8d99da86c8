// Lost-events records (trace format kind 11): what a backend's transport dropped is written
// where it was noticed, survives the round trip, is summed by the reader, named by `report`,
// and is skipped by readers that do not know it — a trace with losses stays readable.
#include <gtest/gtest.h>

#include "replay/byte_codec.h"
#include "replay/leak_report.h"
#include "replay/lost_events.h"
#include "replay/trace_format.h"
#include "replay_test_support.h"

namespace gorepro::replay {
namespace {

using namespace testing;

LostEvents lost(uint64_t time, uint64_t count, uint64_t unattributed, std::vector<uint64_t> goids) {
  LostEvents l;
  l.time_ns = time, l.count = count, l.unattributed = unattributed, l.goids = std::move(goids);
  return l;
}

ReportOptions everything() {
  ReportOptions o;
  o.include_runtime = true;
  return o;
}

TEST(LostEvents, BodyRoundTripsAndRejectsMalformedOnes) {
  LostEvents l = lost(123456789, 40, 3, {1, 17, 18, 4000000000ull});
  LostEvents back;
  ASSERT_TRUE(decode_lost_events(encode_lost_events(l), back));
  EXPECT_EQ(back, l);
  LostEvents bare = lost(0, 5, 0, {});
  ASSERT_TRUE(decode_lost_events(encode_lost_events(bare), back));
  EXPECT_EQ(back, bare);

  // Goids must ascend (a zero delta is a repeat), fields must not run past the body, and more
  // unattributed events than lost ones is nonsense.
  std::vector<uint8_t> repeated;
  ByteSink s(repeated);
  s.varint(format::kLostFieldCount << 1), s.varint(2);
  s.varint(format::kLostFieldGoids << 1 | 1), s.varint(2), s.varint(5), s.varint(0);
  EXPECT_FALSE(decode_lost_events(repeated, back));
  std::vector<uint8_t> truncated = encode_lost_events(l);
  truncated.pop_back();
  EXPECT_FALSE(decode_lost_events(truncated, back));
  EXPECT_FALSE(decode_lost_events(encode_lost_events(lost(0, 1, 2, {})), back));
  // A field from a newer writer is skipped.
  std::vector<uint8_t> newer = encode_lost_events(bare);
  ByteSink n(newer);
  n.varint(9 << 1), n.varint(77);
  n.varint(10 << 1 | 1), n.varint(3), n.bytes("abc");
  ASSERT_TRUE(decode_lost_events(newer, back));
  EXPECT_EQ(back, bare);
}

TEST(LostEvents, ReaderSumsThemWhereTheyStandAmongTheEvents) {
  std::string path = write_trace("lost.gtr", [](TraceWriter& w) {
    StackId s = w.intern_stack(std::vector<uint64_t>{0x401000});
    ASSERT_TRUE(w.append(Event::create(1000, 1, 1, 10, 0x401000, 0x402000, s)));
    ASSERT_TRUE(w.append(Event::create(1100, 1, 1, 11, 0x401000, 0x402000, s)));
    ASSERT_TRUE(w.append_lost(lost(1150, 3, 0, {10, 11})));
    ASSERT_TRUE(w.append(Event::park(1200, 1, 10, kChanSend, 0, 0)));
    ASSERT_TRUE(w.flush());
    ASSERT_TRUE(w.append_lost(lost(1300, 2, 1, {11, 12})));
    ASSERT_TRUE(w.append(Event::park(1400, 1, 11, kChanSend, 0, 0)));
  });
  auto reader = TraceReader::open(path);
  ASSERT_TRUE(reader) << reader.error().message();
  EXPECT_EQ((*reader)->event_count(), 4u);  // loss records are not events: seqs stay dense
  const LossSummary& l = (*reader)->losses();
  EXPECT_EQ(l.records, 2u);
  EXPECT_EQ(l.count, 5u);
  EXPECT_EQ(l.unattributed, 1u);
  EXPECT_EQ(l.goids, (std::set<uint64_t>{10, 11, 12}));
  EXPECT_EQ(l.first_before_seq, 2u);  // after the two creates, before the first park

  // report: the warning line and, per group, how many of its goroutines are affected.
  Replayer replayer(**reader);
  replayer.run_to_end();
  FakeSymbolizer sym;
  TraceSymbols symbols(&sym);
  auto report = build_report(**reader, replayer.table(), symbols, everything(), 2000);
  ASSERT_TRUE(report) << report.error().message();
  EXPECT_EQ(report->lost_events, 5u);
  EXPECT_EQ(report->incomplete_goids, (std::vector<uint64_t>{10, 11, 12}));
  uint64_t incomplete = 0;
  for (const auto& g : report->groups) incomplete += g.incomplete;
  EXPECT_EQ(incomplete, 2u);  // 10 and 11 are alive; 12 was never seen
  const std::string text = format_report_text(*report);
  EXPECT_NE(text.find("warning: 5 events were lost while recording"), std::string::npos) << text;
  EXPECT_NE(text.find("3 goroutines have an incomplete history: 10 11 12"), std::string::npos) << text;
  EXPECT_NE(text.find("(2 with incomplete histories)"), std::string::npos) << text;
}

TEST(LostEvents, TraceWithoutLossesSaysNothing) {
  std::string path = write_trace("none.gtr", [](TraceWriter& w) {
    ASSERT_TRUE(w.append(Event::create(1000, 1, 1, 10, 0x401000, 0x402000, 0)));
  });
  auto reader = TraceReader::open(path);
  ASSERT_TRUE(reader);
  EXPECT_FALSE((*reader)->losses().any());
  Replayer replayer(**reader);
  replayer.run_to_end();
  FakeSymbolizer sym;
  TraceSymbols symbols(&sym);
  auto report = build_report(**reader, replayer.table(), symbols, everything(), 2000);
  ASSERT_TRUE(report);
  EXPECT_EQ(format_report_text(*report).find("lost"), std::string::npos);
}

}  // namespace
}  // namespace gorepro::replay
