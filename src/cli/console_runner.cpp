#include "cli/console_runner.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include <fmt/format.h>

#include "cli/cli_util.h"
#include "replay/line_editor.h"

namespace gorepro::cli {

namespace {

// Splits a script line into commands at ';' outside quotes.
std::vector<std::string> split_commands(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  char quote = 0;
  for (char c : line) {
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == ';') {
      out.push_back(std::move(cur));
      cur.clear();
      continue;
    }
    cur += c;
  }
  out.push_back(std::move(cur));
  return out;
}

void add_lines(std::vector<ScriptLine>& out, const std::string& where_prefix, int line_no, const std::string& text) {
  auto first = text.find_first_not_of(" \t\r");
  if (first == std::string::npos || text[first] == '#') return;
  for (const auto& cmd : split_commands(text))
    if (cmd.find_first_not_of(" \t\r") != std::string::npos)
      out.push_back({line_no ? fmt::format("{}:{}", where_prefix, line_no) : where_prefix, cmd});
}

}  // namespace

bool collect_script(const std::string& file, const std::vector<std::string>& commands, std::vector<ScriptLine>& lines,
                    bool& from_stdin) {
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) {
      fail(make_error(fmt::format("cannot read script {}", file), "check the path"), 2);
      return false;
    }
    int n = 0;
    for (std::string l; std::getline(in, l);) add_lines(lines, file, ++n, l);
  }
  for (size_t i = 0; i < commands.size(); ++i)
    add_lines(lines, commands.size() == 1 ? "-x" : fmt::format("-x #{}", i + 1), 0, commands[i]);
  from_stdin = file.empty() && commands.empty() && !isatty(STDIN_FILENO);
  if (from_stdin) {
    int n = 0;
    for (std::string l; std::getline(std::cin, l);) add_lines(lines, "<stdin>", ++n, l);
  }
  return true;
}

int run_script(const ExecuteLine& execute, const std::vector<ScriptLine>& lines) {
  for (const auto& l : lines) {
    replay::ConsoleReply r = execute(l.command);
    std::fwrite(r.output.data(), 1, r.output.size(), stdout);
    if (r.error) {
      std::fflush(stdout);
      std::string cmd = l.command.substr(l.command.find_first_not_of(" \t"));
      return fail(make_error(fmt::format("{}: '{}': {}", l.where, cmd, r.error->what), r.error->hint),
                  r.usage_error ? 2 : 1);
    }
    if (r.quit) break;
  }
  std::fflush(stdout);
  return 0;
}

void run_prompt(const ExecuteLine& execute, const std::function<std::string()>& prompt,
                const std::vector<std::string>& words) {
  replay::LineEditor editor(words);
  while (auto line = editor.read(prompt())) {
    replay::ConsoleReply r = execute(*line);
    std::fwrite(r.output.data(), 1, r.output.size(), stdout);
    std::fflush(stdout);
    if (r.error) std::fprintf(stderr, "error: %s\n", r.error->message().c_str());
    if (r.quit) return;
  }
  std::fputc('\n', stdout);
}

}  // namespace gorepro::cli
