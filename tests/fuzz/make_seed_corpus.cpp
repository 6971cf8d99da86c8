// Writes a seed corpus for trace_reader_fuzz with the real TraceWriter: every event kind, raw
// and zstd chunks, several chunk sizes, a truncated and an empty-bodied trace.
#include <cstdio>
#include <filesystem>
#include <string>

#include "replay/trace_writer.h"

using namespace gorepro::replay;

static void write(const std::string& path, int zstd, size_t chunk, int events, bool close) {
  TraceHeader h;
  h.binary_path = "/bin/leaky";
  h.go_version = "go1.22.12";
  h.backend = "ptrace";
  h.wait_reasons = {"", "chan receive", "chan send"};
  TraceWriterOptions o;
  o.zstd_level = zstd;
  o.chunk_bytes = chunk;
  auto w = TraceWriter::create(path, h, o);
  if (!w) return;
  std::vector<uint64_t> stack = {0x43a000, 0x402025, 0x43c010};
  StackId s = (*w)->intern_stack(stack);
  StringId text = (*w)->intern_string("SCHED 1ms: gomaxprocs=2");
  uint64_t t = 1000;
  (void)(*w)->append(Event::preexisting(t, 1, 0, GoState::Waiting, 1, 0x401005, 0x402000, s));
  for (int i = 0; i < events; ++i) {
    uint64_t g = 10 + static_cast<uint64_t>(i);
    (void)(*w)->append(Event::create(t += 100, 7, 1, g, 0x401005, 0x402000, s));
    (void)(*w)->append(Event::park(t += 50, 8, g, 2, 0xc000000000 + g * 64, s));
    (void)(*w)->append(Event::ready(t += 70, 7, g, 1));
    (void)(*w)->append(Event::state_change(t += 10, 8, g, GoState::Running));
    if (i % 2) (void)(*w)->append(Event::state_change(t += 10, 8, g, GoState::Syscall));
    if (i % 3) (void)(*w)->append(Event::exit(t += 30, 8, g));
  }
  // A sample with G-line read positions (sched field 6: goid, back).
  Event sample = Event::sched(t += 1000, text);
  sample.g_reads = (*w)->intern_string(std::string("\x01\x03\x0a\x02\x0b\x01", 6));
  (void)(*w)->append(sample);
  (void)(*w)->close();
  // As a killed recorder leaves it: the end marker cut in the middle.
  if (!close) std::filesystem::resize_file(path, std::filesystem::file_size(path) - 7);
}

int main(int argc, char** argv) {
  std::string dir = argc > 1 ? argv[1] : "corpus";
  std::filesystem::create_directories(dir);
  write(dir + "/small.gtr", 0, 256, 5, true);
  write(dir + "/zstd.gtr", 3, 512, 40, true);
  write(dir + "/big_chunks.gtr", 0, 65536, 60, true);
  write(dir + "/unclosed.gtr", 0, 256, 10, false);
  write(dir + "/empty.gtr", 0, 256, 0, true);
  std::printf("seed corpus written to %s\n", dir.c_str());
}
