// The Go runtime's own text dump of goroutines — runtime.Stack(buf, true), a goroutine profile
// with debug=2, the goroutineleak profile with debug=2 — read into values, so that tests can
// hold marks and gorepro against what the runtime itself says and not against gorepro.
//
//   goroutine 24 [chan send (leaked)]:
//   main.fetch.func1()
//   	/src/tests/go/verdict/leaking/sendtimeout/main.go:20 +0x47
//   created by main.fetch in goroutine 22
//   	/src/tests/go/verdict/leaking/sendtimeout/main.go:18 +0xa5
//
// The status in brackets is a wait reason (or running, runnable…), optionally followed by
// ", N minutes", ", locked to thread", " (leaked)" (Go 1.26+, after a goroutineleak GC) or
// " (scan)"; the parser keeps the bare reason and says whether "(leaked)" was there.
#pragma once

#include <cstdint>
#include <regex>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace gorepro::testing {

struct DumpFrame {
  std::string function;
  std::string file;
  int line = 0;
};

struct DumpedGoroutine {
  uint64_t goid = 0;
  std::string status;             // the wait reason, or running/runnable/…, without suffixes
  bool leaked = false;            // the header said "(leaked)"
  std::vector<DumpFrame> frames;  // innermost first, up to (not including) "created by"
  DumpFrame created_by;           // the go statement: its function, file and line; empty for main

  // The innermost frame whose file lies directly in `dir` (an absolute directory, no trailing
  // slash): where the program's own code blocks. nullptr when none does.
  const DumpFrame* innermost_in(const std::string& dir) const {
    for (const DumpFrame& f : frames) {
      auto slash = f.file.rfind('/');
      if (slash != std::string::npos && std::string_view(f.file).substr(0, slash) == dir) return &f;
    }
    return nullptr;
  }
};

// Every goroutine block of the dump, in order. Lines that are not part of a goroutine block
// are ignored, so a dump may be embedded in other output.
inline std::vector<DumpedGoroutine> parse_goroutine_dump(const std::string& dump) {
  static const std::regex header(R"(^goroutine (\d+)(?: gp=\S+ m=\S+(?: mp=\S+)?)? \[(.*)\]:$)");
  static const std::regex file_line(R"(^\t(.+):(\d+)(?: \+0x[0-9a-f]+)?$)");
  std::vector<DumpedGoroutine> out;
  std::istringstream in(dump);
  std::string line, function;
  bool in_block = false, creator = false;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, m, header)) {
      DumpedGoroutine g;
      g.goid = std::stoull(m[1].str());
      std::string status = m[2].str();
      for (const char* suffix : {" (scan)", " (leaked)"}) {
        if (auto at = status.find(suffix); at != std::string::npos) {
          if (std::string_view(suffix) == " (leaked)") g.leaked = true;
          status.erase(at, std::string_view(suffix).size());
        }
      }
      if (auto comma = status.find(", "); comma != std::string::npos) status.erase(comma);
      g.status = status;
      out.push_back(std::move(g));
      in_block = true;
      creator = false;
      function.clear();
      continue;
    }
    if (!in_block) continue;
    if (line.empty()) {
      in_block = false;
      continue;
    }
    if (std::regex_match(line, m, file_line)) {
      DumpFrame f{function, m[1].str(), std::stoi(m[2].str())};
      if (creator) {
        out.back().created_by = f;
      } else {
        out.back().frames.push_back(f);
      }
      continue;
    }
    if (line.starts_with("created by ")) {
      creator = true;
      function = line.substr(11, line.find(" in goroutine ") - 11);
    } else {
      function = line.substr(0, line.rfind('('));
    }
  }
  return out;
}

// The text between a line `begin` and a line `end` in `text` ("" when either is missing).
inline std::string between_lines(const std::string& text, const std::string& begin, const std::string& end) {
  auto b = text.find(begin + "\n");
  if (b == std::string::npos) return "";
  b += begin.size() + 1;
  auto e = text.find("\n" + end + "\n", b - 1);
  if (e == std::string::npos) return "";
  return text.substr(b, e + 1 - b);
}

}  // namespace gorepro::testing
