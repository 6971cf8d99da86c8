// Leak-verdict records (trace format kind 10): what record's heap scan decided about each
// goroutine at the report instant. They survive the round trip with their evidence strings, are
// not events, and make `report` lead with the leaked goroutines (the others folded, one line per
// group), filter with --verdict leaked, and `check` count only the leaked ones.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "replay/byte_codec.h"
#include "replay/leak_report.h"
#include "replay/leak_verdicts.h"
#include "replay/trace_format.h"
#include "replay_test_support.h"

namespace gorepro::replay {
namespace {

using namespace testing;

LeakVerdicts sample_verdicts(uint64_t t) {
  LeakVerdicts v;
  v.time_ns = t;
  v.scan_ns = 40'000'000;
  v.bytes_scanned = 180 << 20;
  v.heap_bytes = 200 << 20;
  v.goroutines = {
      {10, Verdict::kLeaked, {0xc000010000}, "chan send on 0xc000010000: unreachable"},
      {11, Verdict::kLeaked, {0xc000010100, 0xc000010200}, "select on 0xc000010100, 0xc000010200: unreachable"},
      {12, Verdict::kMayWake, {0xc000020000}, "chan receive on 0xc000020000, reachable from global main.jobs"},
      {13, Verdict::kTimeIo, {}, "sleep"},
  };
  return v;
}

TEST(LeakVerdicts, BodyRoundTripsSkipsNewerFieldsAndRejectsBadOnes) {
  LeakVerdicts v = sample_verdicts(123456789);
  std::vector<uint64_t> ids = {1, 2, 3, 4};
  LeakVerdicts back;
  std::vector<uint64_t> back_ids;
  std::vector<uint8_t> body = encode_leak_verdicts(v, ids);
  ASSERT_TRUE(decode_leak_verdicts(body, back, back_ids));
  EXPECT_EQ(back_ids, ids);
  for (auto& g : back.goroutines) g.evidence = v.find(g.goid)->evidence;  // strings live in the table
  EXPECT_EQ(back, v);
  std::vector<uint8_t> newer = body;
  ByteSink n(newer);
  n.varint(9 << 1), n.varint(77);
  n.varint(10 << 1 | 1), n.varint(3), n.bytes("abc");
  ASSERT_TRUE(decode_leak_verdicts(newer, back, back_ids));
  EXPECT_EQ(back.goroutines.size(), 4u);
  std::vector<uint8_t> truncated = body;
  truncated.pop_back();
  EXPECT_FALSE(decode_leak_verdicts(truncated, back, back_ids));
  std::vector<uint8_t> bad_code;
  ByteSink b(bad_code);
  b.varint(format::kVerdictFieldTime << 1), b.varint(1);
  b.varint(format::kVerdictFieldGoroutine << 1 | 1), b.varint(4), b.u8(10), b.u8(9), b.u8(0), b.u8(0);
  EXPECT_FALSE(decode_leak_verdicts(bad_code, back, back_ids));
  std::vector<uint8_t> timeless;
  ByteSink t(timeless);
  t.varint(format::kVerdictFieldScanNs << 1), t.varint(4);
  EXPECT_FALSE(decode_leak_verdicts(timeless, back, back_ids));
}

TEST(LeakVerdicts, ReportLeadsWithLeakedFoldsTheRestAndCheckCountsLeaked) {
  const uint64_t b = sample_header().clock.monotonic_ns + 1000;
  std::string path = write_trace("verdicts.gtr", [&](TraceWriter& w) {
    StackId s = w.intern_stack(std::vector<uint64_t>{0x401000});
    ASSERT_TRUE(w.append(Event::create(b, 0, 1, 10, 0x401000, 0x402000, s)));
    ASSERT_TRUE(w.append(Event::park(b, 0, 10, kChanSend, 0, s)));
    ASSERT_TRUE(w.append(Event::create(b, 0, 1, 11, 0x401000, 0x402000, s)));
    ASSERT_TRUE(w.append(Event::park(b, 0, 11, kSelect, 0, s)));
    ASSERT_TRUE(w.append(Event::create(b, 0, 1, 12, 0x401000, 0x402000, s)));
    ASSERT_TRUE(w.append(Event::park(b, 0, 12, kChanReceive, 0, s)));
    ASSERT_TRUE(w.append(Event::create(b, 0, 1, 13, 0x401000, 0x402000, s)));
    ASSERT_TRUE(w.append(Event::park(b, 0, 13, kChanReceive, 0, s)));
    ASSERT_TRUE(w.append_verdicts(sample_verdicts(b + 10)));
  });
  auto reader = TraceReader::open(path);
  ASSERT_TRUE(reader) << reader.error().message();
  EXPECT_EQ((*reader)->event_count(), 8u);  // verdicts are not events
  ASSERT_TRUE((*reader)->verdicts().has_value());
  EXPECT_EQ((*reader)->verdicts()->find(12)->evidence, sample_verdicts(0).find(12)->evidence);

  auto report = report_of_whole_trace(**reader, b + 20);
  ASSERT_TRUE(report) << report.error().message();
  EXPECT_TRUE(report->has_verdicts);
  EXPECT_EQ(report->alive(), 5u);  // with the creator, goroutine 1, which the verdicts do not name
  EXPECT_EQ(report->leaked(), 2u);  // what check --max-leaked counts
  ASSERT_FALSE(report->groups.empty());
  EXPECT_EQ(report->groups.front().verdict, Verdict::kLeaked);
  const std::string text = format_report_text(*report);
  EXPECT_NE(text.find("2 leaked (can never wake), 1 waiting on time/I/O, 1 may still wake"), std::string::npos) << text;
  EXPECT_NE(text.find("LEAKED: 1 alive"), std::string::npos) << text;
  EXPECT_NE(text.find("1 may_wake  waiting: chan receive"), std::string::npos) << text;
  EXPECT_LT(text.find("LEAKED"), text.find("may_wake")) << text;
  auto j = report_to_json(*report);
  EXPECT_EQ(j["verdicts"]["leaked"], 2);
  for (const auto& g : j["groups"]) {
    for (const auto& m : g["goroutines"]) {
      EXPECT_EQ(m["verdict"], to_string(sample_verdicts(0).find(m["goid"])->verdict)) << m.dump();
      EXPECT_EQ(m["verdict_evidence"], sample_verdicts(0).find(m["goid"])->evidence) << m.dump();
    }
  }

  // report --verdict leaked: only those.
  Replayer replayer(**reader);
  replayer.run_to_end();
  FakeSymbolizer sym;
  TraceSymbols symbols(&sym);
  ReportOptions only;
  only.include_runtime = true;
  only.only_verdict = Verdict::kLeaked;
  auto leaked = build_report(**reader, replayer.table(), symbols, only, b + 20);
  ASSERT_TRUE(leaked) << leaked.error().message();
  EXPECT_EQ(leaked->alive(), 2u);
  for (const auto& g : leaked->groups) EXPECT_EQ(g.verdict, Verdict::kLeaked);
}

TEST(LeakVerdicts, TraceWithoutVerdictsReportsAsBefore) {
  std::string path = write_trace("noverdicts.gtr", [](TraceWriter& w) {
    ASSERT_TRUE(w.append(Event::create(1000, 1, 1, 10, 0x401000, 0x402000, 0)));
  });
  auto reader = TraceReader::open(path);
  ASSERT_TRUE(reader);
  EXPECT_FALSE((*reader)->verdicts().has_value());
  auto report = report_of_whole_trace(**reader, 2000);
  ASSERT_TRUE(report);
  EXPECT_FALSE(report->has_verdicts);
  EXPECT_EQ(report->leaked(), report->alive());
  EXPECT_TRUE(report_to_json(*report)["verdicts"].is_null());
}

}  // namespace
}  // namespace gorepro::replay
