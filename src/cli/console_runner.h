// What `gorepro replay` and `gorepro debug` share around their consoles: commands from a script
// (--script FILE, -x 'cmd; cmd', or piped on stdin) run without a prompt, stopping at the first
// failure; or an interactive prompt with line editing. A console is anything that executes one
// line into a ConsoleReply.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "replay/replay_console.h"

namespace gorepro::cli {

using ExecuteLine = std::function<replay::ConsoleReply(std::string_view line)>;

struct ScriptLine {
  std::string where;  // "FILE:LINE" or "-x command N"
  std::string command;
};

// The script the options describe: FILE's lines, then each -x (';'-separated), or stdin's lines
// when neither was given and stdin is not a terminal. false after printing an unreadable FILE.
bool collect_script(const std::string& file, const std::vector<std::string>& commands, std::vector<ScriptLine>& out,
                    bool& from_stdin);

// Runs the commands without a prompt; stops at the first failure. Returns the exit code: 0, 1
// when a command failed, 2 when one was written wrong.
int run_script(const ExecuteLine& execute, const std::vector<ScriptLine>& lines);

// Reads lines at a prompt until quit or Ctrl-D; errors go to stderr.
void run_prompt(const ExecuteLine& execute, const std::function<std::string()>& prompt,
                const std::vector<std::string>& words);

}  // namespace gorepro::cli
