// The .gtr format: round trips, truncation, corruption, versioning, compactness.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <random>

#include "replay/byte_codec.h"
#include "replay/crc32c.h"
#include "replay/goroutine_table.h"
#include "replay/trace_format.h"
#include "replay_test_support.h"

namespace gorepro::replay {
namespace {

using namespace testing;

TEST(Crc32c, MatchesTheStandardCheckValue) {
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);
  EXPECT_EQ(crc32c("", 0), 0u);
}

TEST(Crc32c, ExtendingEqualsChecksummingTheConcatenation) {
  std::string data;
  for (int i = 0; i < 1000; ++i) data.push_back(static_cast<char>(i * 7));
  for (size_t cut : {0, 1, 7, 8, 9, 500, 999, 1000})
    EXPECT_EQ(crc32c_extend(crc32c(data.data(), cut), data.data() + cut, data.size() - cut),
              crc32c(data.data(), data.size()));
}

TEST(ByteCodec, VarintsAndZigzagDeltasRoundTripExtremes) {
  const uint64_t values[] = {0, 1, 127, 128, 300, UINT32_MAX, UINT64_MAX - 1, UINT64_MAX};
  std::vector<uint8_t> buf;
  ByteSink sink(buf);
  for (uint64_t v : values) {
    sink.varint(v);
    sink.varint(zigzag_delta(v, 12345));
  }
  ByteSource src(buf);
  for (uint64_t v : values) {
    uint64_t a, b;
    ASSERT_TRUE(src.varint(a));
    ASSERT_TRUE(src.varint(b));
    EXPECT_EQ(a, v);
    EXPECT_EQ(apply_delta(12345, b), v);
  }
  EXPECT_TRUE(src.empty());
}

TEST(ByteCodec, OverlongOrCutVarintsAreRejected) {
  std::vector<uint8_t> eleven(11, 0x80);
  uint64_t v;
  EXPECT_FALSE(ByteSource(eleven).varint(v));
  std::vector<uint8_t> cut = {0x80, 0x80};
  EXPECT_FALSE(ByteSource(cut).varint(v));
}

// One event of every kind with every optional field both present and absent.
struct EveryKind {
  std::vector<Event> events;
  std::vector<std::vector<uint64_t>> stacks;
  std::vector<StackId> stack_ids;
  StringId text = 0;

  void write(TraceWriter& w) {
    stacks = {{0x401000, 0x402000, 0x403000}, {0x4a0000}, {0x401000, 0x7fffffffffff}};
    for (auto& s : stacks) stack_ids.push_back(w.intern_stack(s));
    text = w.intern_string("SCHED 12ms: gomaxprocs=2 idleprocs=1 threads=5");
    uint64_t t = 1'000'000'500;
    events = {
        Event::preexisting(t, 1, 0, GoState::Waiting, kChanReceive, 0x4300a0, 0x430000, stack_ids[1]),
        Event::preexisting(t, 2, 1, GoState::Runnable, 0, 0x4300b0, 0x431000, 0),
        Event::create(t + 10, 100, 1, 7, 0x4555a5, 0x456000, stack_ids[0]),
        Event::create(t + 11, 100, 0, 8, 0x4555a5, 0x456000, 0),
        Event::park(t + 900, 101, 7, kChanSend, 0xc000123456, stack_ids[2]),
        Event::park(t + 950, 101, 8, kSelect, 0, stack_ids[2]),
        Event::ready(t + 1000, 100, 7, 1),
        Event::ready(t + 1001, 100, 8, 0),
        Event::sched(t + 5000, text),
        Event::state_change(t + 5500, 103, 8, GoState::Running),
        Event::state_change(t + 5600, 103, 8, GoState::Syscall),
        Event::state_change(t + 5700, 0, 8, GoState::Runnable),
        Event::exit(t + 6000, 102, 7),
        Event::create(t + 7000, 100, 1, UINT64_MAX, UINT64_MAX, 0, 0),  // extreme values
        Event::exit(t + 7000, 100, UINT64_MAX),
    };
    for (auto& e : events) must(w.append(e));
    for (size_t i = 0; i < events.size(); ++i) events[i].seq = i;
  }
};

class TraceRoundTrip : public ::testing::TestWithParam<int> {};

TEST_P(TraceRoundTrip, ReadsBackEveryEventKindHeaderStackAndString) {
  EveryKind k;
  TraceWriterOptions opt;
  opt.chunk_bytes = 256;  // several chunks
  opt.zstd_level = GetParam();
  std::string path = write_trace("every.gtr", [&](TraceWriter& w) { k.write(w); }, opt);
  auto r = TraceReader::open(path);
  ASSERT_TRUE(r.ok()) << r.error().message();
  TraceReader& reader = **r;

  TraceHeader expected = sample_header();
  expected.tool_version = reader.header().tool_version;
  EXPECT_FALSE(expected.tool_version.empty());
  expected.state_names = {"unknown", "runnable", "running", "waiting", "syscall", "dead"};
  EXPECT_EQ(reader.header(), expected);
  EXPECT_TRUE(reader.warnings().empty());
  EXPECT_TRUE(reader.has_end_marker());

  ASSERT_EQ(reader.event_count(), k.events.size());
  std::vector<Event> got;
  auto c = reader.cursor();
  for (Event e; c.next(e);) got.push_back(e);
  EXPECT_EQ(got, k.events);
  for (size_t i = 0; i < k.stacks.size(); ++i) {
    auto s = reader.stack(k.stack_ids[i]);
    EXPECT_EQ(std::vector<uint64_t>(s.begin(), s.end()), k.stacks[i]);
  }
  EXPECT_TRUE(reader.stack(0).empty());
  EXPECT_EQ(reader.string(k.text), "SCHED 12ms: gomaxprocs=2 idleprocs=1 threads=5");

  // A cursor may start at any event.
  for (uint64_t start = 0; start <= k.events.size(); ++start) {
    auto mid = reader.cursor(start);
    Event e;
    if (start < k.events.size()) {
      ASSERT_TRUE(mid.next(e));
      EXPECT_EQ(e, k.events[start]);
    } else {
      EXPECT_FALSE(mid.next(e));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Compression, TraceRoundTrip, ::testing::Values(0, 3),
                         [](const auto& info) { return info.param ? "Zstd" : "Raw"; });

TEST(TraceFormat, InterningReturnsTheSameIdForEqualInput) {
  write_trace("intern.gtr", [](TraceWriter& w) {
    std::vector<uint64_t> a = {1, 2, 3}, b = {1, 2, 3}, c = {1, 2};
    EXPECT_EQ(w.intern_stack(a), w.intern_stack(b));
    EXPECT_NE(w.intern_stack(a), w.intern_stack(c));
    EXPECT_EQ(w.intern_stack({}), 0u);
    EXPECT_EQ(w.intern_string("x"), w.intern_string(std::string("x")));
    EXPECT_EQ(w.intern_string(""), 0u);
  });
}

// A small trace with explicit chunk boundaries, remembering where each chunk ends.
struct ChunkedTrace {
  std::string path;
  std::vector<Event> events;
  std::vector<std::pair<uint64_t, uint64_t>> boundaries;  // (file bytes, events) after each chunk
  uint64_t header_end = 0;

  explicit ChunkedTrace(const std::string& name) {
    TraceWriterOptions opt;
    opt.chunk_bytes = 1 << 20;
    opt.chunk_max_age_ns = UINT64_MAX;  // only explicit flushes end chunks
    path = write_trace(name, [&](TraceWriter& w) {
      header_end = w.bytes_written();
      std::vector<uint64_t> stack = {0x401000, 0x402000};
      StackId s = w.intern_stack(stack);
      for (uint64_t i = 0; i < 30; ++i) {
        uint64_t t = 2'000'000'000 + i * 1000;
        Event e = i % 3 == 0 ? Event::create(t, 10, 1, 100 + i, 0x4555a5, 0x456000, s)
                : i % 3 == 1 ? Event::park(t, 11, 100 + i - 1, kChanSend, 0xc000010000 + i * 64, s)
                             : Event::exit(t, 11, 100 + i - 2);
        must(w.append(e));
        e.seq = i;
        events.push_back(e);
        if (i % 10 == 9) {
          must(w.flush());
          boundaries.emplace_back(w.bytes_written(), w.events_written());
        }
      }
    }, opt);
  }
};

TEST(TraceFormat, TruncatedTraceReadsWholeChunkPrefix) {
  ChunkedTrace t("chunked.gtr");
  auto bytes = read_bytes(t.path);
  ASSERT_GT(bytes.size(), t.boundaries.back().first);  // the end marker follows
  for (size_t len = 0; len < bytes.size(); ++len) {
    SCOPED_TRACE(fmt::format("cut at {} of {} bytes", len, bytes.size()));
    auto r = TraceReader::parse({bytes.begin(), bytes.begin() + len}, "cut.gtr");
    if (len < t.header_end) {
      ASSERT_FALSE(r.ok());
      EXPECT_NE(r.error().what.find("truncated"), std::string::npos) << r.error().what;
      continue;
    }
    ASSERT_TRUE(r.ok()) << r.error().message();
    uint64_t whole_bytes = t.header_end, whole_events = 0;
    for (auto [b, n] : t.boundaries) {
      if (b <= len) whole_bytes = b, whole_events = n;
    }
    EXPECT_EQ((*r)->event_count(), whole_events);
    ASSERT_EQ((*r)->warnings().size(), 1u);
    if (len > whole_bytes)
      EXPECT_NE((*r)->warnings()[0].find(fmt::format("last {} bytes", len - whole_bytes)), std::string::npos)
          << (*r)->warnings()[0];
    else
      EXPECT_NE((*r)->warnings()[0].find("no end marker"), std::string::npos) << (*r)->warnings()[0];
    auto c = (*r)->cursor();
    for (Event e; c.next(e);) EXPECT_EQ(e, t.events[e.seq]);
  }
}

TEST(TraceFormat, ZeroFilledTailIsTreatedAsTruncation) {
  ChunkedTrace t("zeros.gtr");
  auto bytes = read_bytes(t.path);
  bytes.resize(t.boundaries[1].first);
  bytes.resize(bytes.size() + 4096, 0);  // what a crash can leave on some filesystems
  auto r = TraceReader::parse(bytes, "zeros.gtr");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ((*r)->event_count(), t.boundaries[1].second);
  ASSERT_EQ((*r)->warnings().size(), 1u);
  EXPECT_NE((*r)->warnings()[0].find("last 4096 bytes"), std::string::npos);
}

TEST(TraceFormat, EveryBitFlipIsAnErrorNamingAByteOffset) {
  ChunkedTrace t("flips.gtr");
  auto bytes = read_bytes(t.path);
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      auto flipped = bytes;
      flipped[i] ^= static_cast<uint8_t>(1 << bit);
      auto r = TraceReader::parse(std::move(flipped), "flipped.gtr");
      ASSERT_FALSE(r.ok()) << "flip of bit " << bit << " at byte " << i << " went unnoticed";
      if (i >= sizeof format::kMagic) {
        EXPECT_NE(r.error().what.find("byte offset"), std::string::npos) << r.error().what;
      }
    }
  }
}

// Rewrites the preamble's version and its checksum, as a future gorepro would write it.
std::vector<uint8_t> with_version(std::vector<uint8_t> bytes, uint16_t major, uint16_t minor) {
  bytes[8] = major & 0xFF, bytes[9] = major >> 8, bytes[10] = minor & 0xFF, bytes[11] = minor >> 8;
  uint32_t crc = crc32c(bytes.data(), 12);
  for (int i = 0; i < 4; ++i) bytes[12 + i] = static_cast<uint8_t>(crc >> (8 * i));
  return bytes;
}

TEST(TraceFormat, NewerMajorVersionIsRejectedNamingTheVersionThisGoreproReads) {
  ChunkedTrace t("v2.gtr");
  auto r = TraceReader::parse(with_version(read_bytes(t.path), format::kMajorVersion + 1, 0), "v2.gtr");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().what.find(fmt::format("version {}.0", format::kMajorVersion + 1)), std::string::npos)
      << r.error().what;
  EXPECT_NE(r.error().what.find(fmt::format("reads versions {}.x to {}.", format::kOldestMajorVersion,
                                            format::kMajorVersion)),
            std::string::npos)
      << r.error().what;
  EXPECT_NE(r.error().hint.find("newer gorepro"), std::string::npos);
}

TEST(TraceFormat, NewerMinorVersionIsRead) {
  ChunkedTrace t("minor.gtr");
  auto r = TraceReader::parse(with_version(read_bytes(t.path), format::kMajorVersion, 9), "minor.gtr");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ((*r)->event_count(), t.events.size());
}

TEST(TraceFormat, NonTraceFileIsRejected) {
  std::vector<uint8_t> text = {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd', '!', '!', '!', '!', '!', '!'};
  auto r = TraceReader::parse(text, "hello.txt");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().what.find("not a gorepro trace"), std::string::npos);
  EXPECT_FALSE(TraceReader::open(scratch_path("missing.gtr")).ok());
}

TEST(TraceWriter, ReportsAFullDiskAsAnError) {
  auto w = TraceWriter::create("/dev/full", sample_header());
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.error().what.find("No space left"), std::string::npos) << w.error().what;
  EXPECT_NE(w.error().hint.find("free disk space"), std::string::npos);
}

TEST(TraceWriter, AgeBoundPutsEventsOnDiskBeforeClose) {
  std::string path = scratch_path("age.gtr");
  TraceWriterOptions opt;
  opt.chunk_max_age_ns = 1'000'000;
  auto w = TraceWriter::create(path, sample_header(), opt);
  ASSERT_TRUE(w.ok());
  const uint64_t t0 = 5'000'000'000;
  must((*w)->append(Event::create(t0, 1, 1, 2, 0x401000, 0x402000, 0)));
  must((*w)->append(Event::exit(t0 + 500'000, 1, 2)));
  // 1 ms after the chunk began: this append closes the chunk, as a SIGKILL right after would show.
  must((*w)->append(Event::create(t0 + 1'000'000, 1, 1, 3, 0x401000, 0x402000, 0)));
  must((*w)->append(Event::park(t0 + 1'100'000, 1, 3, kChanSend, 0, 0)));
  auto killed = TraceReader::parse(read_bytes(path), "killed.gtr");
  ASSERT_TRUE(killed.ok()) << killed.error().message();
  EXPECT_EQ((*killed)->event_count(), 3u);
  // An idle recorder flushes the pending event when it is due.
  must((*w)->flush_if_due(t0 + 1'500'000));
  EXPECT_EQ((*TraceReader::parse(read_bytes(path), "idle.gtr"))->event_count(), 3u);
  must((*w)->flush_if_due(t0 + 2'100'000));
  EXPECT_EQ((*TraceReader::parse(read_bytes(path), "idle.gtr"))->event_count(), 4u);
  must((*w)->close());
}

TEST(TraceReader, FirstSeqAfterTimeFindsTheFirstLaterEvent) {
  ChunkedTrace t("times.gtr");
  auto r = TraceReader::open(t.path);
  ASSERT_TRUE(r.ok());
  for (size_t i = 0; i < t.events.size(); ++i) {
    EXPECT_EQ((*r)->first_seq_after(t.events[i].time_ns), i + 1);
    EXPECT_EQ((*r)->first_seq_after(t.events[i].time_ns - 1), i);
  }
}

// A churn workload as a busy server produces it: a few spawners create short-lived goroutines
// from a handful of go statements; each blocks once on its own channel, is woken and exits.
// Returns bytes per event of the event chunks.
double churn_bytes_per_event(int zstd_level, uint64_t goroutines) {
  std::mt19937_64 rng(42);
  TraceWriterOptions opt;
  opt.zstd_level = zstd_level;
  uint64_t events = 0, header_bytes = 0, total = 0;
  std::string path = write_trace(fmt::format("churn{}.gtr", zstd_level), [&](TraceWriter& w) {
    header_bytes = w.bytes_written();
    std::vector<StackId> create_stacks, block_stacks;
    for (int i = 0; i < 8; ++i) {
      std::vector<uint64_t> s = {0x4a1000u + i * 0x40u, 0x4a2000u + i * 0x100u, 0x4a3000, 0x43c000};
      create_stacks.push_back(w.intern_stack(s));
      std::vector<uint64_t> b = {0x43a0a0, 0x40b000u + i * 0x30u, 0x4a1800u + i * 0x40u, 0x43c000};
      block_stacks.push_back(w.intern_stack(b));
    }
    uint64_t t = 10'000'000'000, next_goid = 50;
    std::vector<uint64_t> live;
    for (uint64_t n = 0; n < goroutines;) {
      t += 200 + rng() % 3000;
      uint32_t tid = 4000 + static_cast<uint32_t>(rng() % 4);
      int site = static_cast<int>(rng() % 8);
      uint64_t r = rng() % 4;
      if (live.size() < 16 && (r != 0 || live.empty())) {
        uint64_t g = next_goid++;
        must(w.append(Event::create(t, tid, 1 + rng() % 4, g, 0x4a1000 + site * 0x40 + 5, 0x4b0000 + site * 0x80,
                                    create_stacks[site])));
        t += 100 + rng() % 1000;
        must(w.append(Event::park(t, tid, g, kChanReceive, 0xc000100000 + n * 96 + rng() % 4 * 8,
                                  block_stacks[site])));
        live.push_back(g);
        ++n;
        events += 2;
      } else {
        size_t i = rng() % live.size();
        uint64_t g = live[i];
        live.erase(live.begin() + static_cast<long>(i));
        must(w.append(Event::ready(t, tid, g, 1 + rng() % 4)));
        t += 300 + rng() % 2000;
        must(w.append(Event::exit(t, tid, g)));
        events += 2;
      }
    }
    for (uint64_t g : live) {
      must(w.append(Event::ready(t += 500, 4000, g, 1)));
      must(w.append(Event::exit(t += 500, 4000, g)));
      events += 2;
    }
    total = w.events_written();
  }, opt);
  EXPECT_EQ(total, events);
  double bpe = static_cast<double>(read_bytes(path).size() - header_bytes) / static_cast<double>(events);
  ::testing::Test::RecordProperty(fmt::format("bytes_per_event_zstd{}", zstd_level), fmt::format("{:.2f}", bpe));
  std::printf("churn: %.2f bytes/event (zstd level %d)\n", bpe, zstd_level);
  return bpe;
}

TEST(TraceFormat, ChurnWorkloadAveragesAtMostEightBytesPerEvent) {
  EXPECT_LE(churn_bytes_per_event(0, 100'000), 8.0);
  EXPECT_LE(churn_bytes_per_event(3, 100'000), 8.0);
}

}  // namespace
}  // namespace gorepro::replay

namespace gorepro::replay {
namespace {

using namespace testing;

// Labels records (kind 9): attached to the event before them by cursors and by the validating
// pass's visitor (what lays the Replayer's checkpoints), kept in the goroutine table until the
// next record replaces them, and left alone by the chunk bound that cuts right after the event.
TEST(TraceLabels, RecordsAttachToTheirEventAndTheTableKeepsTheCurrentSet) {
  TraceWriterOptions opt;
  opt.chunk_bytes = 1;  // every event ends its chunk: the labels record must stay in it
  const Labels slow = {{"handler", "slow"}, {"user", "7"}}, none = {};
  std::string path = write_trace("labels.gtr", [&](TraceWriter& w) {
    must(w.append(Event::create(1000, 1, 1, 10, 0x4555a5, 0x456000, 0), &slow));
    must(w.append(Event::create(1100, 1, 1, 11, 0x4555a5, 0x456000, 0)));
    must(w.append(Event::park(1200, 1, 10, kChanSend, 0, 0)));
    must(w.append(Event::park(1300, 1, 11, kChanSend, 0, 0), &slow));
    must(w.append(Event::ready(1400, 1, 10, 0), &none));
  }, opt);
  std::vector<uint32_t> visited;
  auto reader = TraceReader::open(path, [&](const Event& e) { visited.push_back(e.labels); });
  ASSERT_TRUE(reader.ok()) << reader.error().message();
  const TraceReader& r = **reader;
  EXPECT_TRUE(r.has_labels());
  std::vector<uint32_t> read;
  auto cur = r.cursor();
  Event e;
  while (cur.next(e)) read.push_back(e.labels);
  EXPECT_EQ(read, visited);
  ASSERT_EQ(read.size(), 5u);
  EXPECT_EQ(r.labels(read[0]), slow);
  EXPECT_EQ(read[1], 0u);
  EXPECT_EQ(read[2], 0u);
  EXPECT_EQ(read[3], read[0]);  // the same set, one id
  EXPECT_NE(read[4], 0u);
  EXPECT_TRUE(r.labels(read[4]).empty());

  GoroutineTable table;
  cur = r.cursor();
  for (int i = 0; i < 3 && cur.next(e); i++) table.apply(e);
  EXPECT_EQ(r.labels(table.find(10)->labels), slow);  // from its create, through its park
  EXPECT_TRUE(r.labels(table.find(11)->labels).empty());
  while (cur.next(e)) table.apply(e);
  EXPECT_EQ(r.labels(table.find(11)->labels), slow);
  EXPECT_TRUE(r.labels(table.find(10)->labels).empty());  // cleared
}

TEST(TraceLabels, BodyRoundTripsAndACutBodyIsRejected) {
  std::vector<std::pair<StringId, StringId>> ids = {{1, 2}, {3, 4}};
  auto body = encode_labels(42, ids);
  uint64_t goid = 0;
  std::vector<std::pair<StringId, StringId>> back;
  ASSERT_TRUE(decode_labels(body, goid, back));
  EXPECT_EQ(goid, 42u);
  EXPECT_EQ(back, ids);
  body.pop_back();
  EXPECT_FALSE(decode_labels(body, goid, back));
}

}  // namespace
}  // namespace gorepro::replay
