// LineEditor: the interactive prompt of `gorepro replay` — line editing, in-session history and
// command-word completion through libedit's readline interface. One per process (readline
// keeps global state); only used when stdin is a terminal.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace gorepro::replay {

class LineEditor {
 public:
  // words: completed at the start of a line (command names).
  explicit LineEditor(std::vector<std::string> words);
  ~LineEditor();
  LineEditor(const LineEditor&) = delete;
  LineEditor& operator=(const LineEditor&) = delete;

  // The next line typed, without its newline; nullopt at end of input (Ctrl-D). A signal that
  // interrupts the typing (Ctrl-C, when the process handles SIGINT) drops the line and asks again. Non-empty lines
  // go into the history (a line equal to the previous one only once).
  std::optional<std::string> read(const std::string& prompt);
};

}  // namespace gorepro::replay
