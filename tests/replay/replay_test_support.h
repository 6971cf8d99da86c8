// Helpers for the replay tests: scratch files, a symbolizer with hand-made answers, and a
// trace builder that writes events through the real TraceWriter.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dwarf/symbolizer.h"
#include "replay/leak_report.h"
#include "replay/replayer.h"
#include "replay/trace_reader.h"
#include "replay/trace_writer.h"

namespace gorepro::replay::testing {

// A fresh path under the system temp dir, unique per test.
inline std::string scratch_path(const std::string& name) {
  auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  auto dir = std::filesystem::temp_directory_path() /
             ("gorepro-replay-" + std::to_string(getpid()) + "-" + info->test_suite_name() + "-" + info->name());
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

inline std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

inline TraceHeader sample_header() {
  TraceHeader h;
  h.binary_path = "/nonexistent/leaky";
  h.build_id = "abc123";
  h.go_version = "go1.22.12";
  h.backend = "ptrace";
  h.probes = {"runtime.newproc1", "runtime.gopark"};
  h.clock = {1'000'000'000, 1'700'000'000'000'000'000};
  h.argv = {"./leaky", "--n", "3"};
  h.gomaxprocs = 2;
  h.wait_reasons = {"", "chan receive", "chan send", "select", "sync.Mutex.Lock"};
  return h;
}
inline constexpr uint32_t kChanReceive = 1, kChanSend = 2, kSelect = 3;

// Writes a trace: `body` gets the writer to intern and append; the builder closes it.
inline std::string write_trace(const std::string& name, const std::function<void(TraceWriter&)>& body,
                               TraceWriterOptions options = {}, TraceHeader header = sample_header()) {
  std::string path = scratch_path(name);
  auto w = TraceWriter::create(path, header, options);
  EXPECT_TRUE(w.ok()) << w.error().message();
  body(**w);
  Status s = (*w)->close();
  EXPECT_TRUE(s.ok()) << s.error().message();
  return path;
}

inline void must(const Status& s) { ASSERT_TRUE(s.ok()) << s.error().message(); }

// The Replayer's invariant on a trace: after seek(N), in any order, from the checkpoints a
// Layer laid every `interval` events while the trace was opened (as `gorepro replay` opens
// it), the table is the one applying events [0, N) one by one gives. Checks every `stride`-th
// N and the end.
inline void expect_seeks_match_stepping(const std::string& path, uint64_t interval, uint64_t stride = 1) {
  Replayer::Layer layer(Replayer::Options{interval, false});
  auto reader = TraceReader::open(path, layer.visitor());
  ASSERT_TRUE(reader.ok()) << reader.error().message();
  const uint64_t n = (*reader)->event_count();
  Replayer replayer(**reader, std::move(layer));
  ASSERT_GE(replayer.checkpoint_count(), n / interval) << "checkpoints to restore from";
  std::map<uint64_t, GoroutineTable> expected;
  GoroutineTable stepped;
  auto cursor = (*reader)->cursor(0);
  for (uint64_t pos = 0;; ++pos) {
    if (pos % stride == 0 || pos == n) expected.emplace(pos, stepped);
    Event e;
    if (!cursor.next(e)) break;
    stepped.apply(e);
  }
  std::vector<uint64_t> targets;
  for (const auto& [pos, table] : expected) targets.push_back(pos);
  std::shuffle(targets.begin(), targets.end(), std::mt19937(11));
  for (uint64_t pos : targets) {
    replayer.seek(pos);
    ASSERT_EQ(replayer.position(), pos);
    const GoroutineTable &got = replayer.table(), &want = expected.at(pos);
    ASSERT_EQ(got.goroutines(), want.goroutines()) << "at " << pos;
    ASSERT_EQ(got.created_by_site(), want.created_by_site()) << "at " << pos;
    ASSERT_EQ(got.dead_count(), want.dead_count()) << "at " << pos;
    ASSERT_EQ(got.time_ns(), want.time_ns()) << "at " << pos;
  }
}

// Answers frames() from a table given by the test; PCs not in it are unknown.
class FakeSymbolizer : public Symbolizer {
 public:
  void add(uint64_t pc, std::vector<SourceFrame> frames) { table_[pc] = std::move(frames); }
  // One non-inlined frame covering [pc, pc + 16): enough for pc and pc-1 lookups.
  void add_range(uint64_t pc, const std::string& function, const std::string& file, int line) {
    for (uint64_t p = pc; p < pc + 16; ++p) table_[p] = {SourceFrame{function, file, line, false}};
  }
  std::vector<SourceFrame> frames(uint64_t pc) const override {
    auto it = table_.find(pc);
    return it == table_.end() ? std::vector<SourceFrame>{} : it->second;
  }
  std::string function_name(uint64_t pc) const override {
    auto it = table_.find(pc);
    return it == table_.end() || it->second.empty() ? "" : it->second.back().function;
  }

 private:
  std::map<uint64_t, std::vector<SourceFrame>> table_;
};

// The report of a whole trace as of now_ns: every goroutine (runtime ones too), unsymbolized.
inline Result<LeakReport> report_of_whole_trace(const TraceReader& reader, uint64_t now_ns) {
  Replayer replayer(reader);
  replayer.run_to_end();
  FakeSymbolizer sym;
  TraceSymbols symbols(&sym);
  ReportOptions options;
  options.include_runtime = true;
  return build_report(reader, replayer.table(), symbols, options, now_ns);
}

}  // namespace gorepro::replay::testing
