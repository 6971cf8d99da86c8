#include "replay/line_editor.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <editline/readline.h>

namespace gorepro::replay {
namespace {

std::vector<std::string>* g_words = nullptr;

char* complete_word(const char* text, int state) {
  static size_t next;
  if (state == 0) next = 0;
  const size_t len = std::strlen(text);
  while (g_words && next < g_words->size()) {
    const std::string& w = (*g_words)[next++];
    if (w.compare(0, len, text) == 0) return strdup(w.c_str());
  }
  return nullptr;
}

char** complete(const char* text, int start, int /*end*/) {
  rl_attempted_completion_over = 1;  // no file-name fallback
  if (start != 0) return nullptr;
  return rl_completion_matches(text, complete_word);
}

}  // namespace

LineEditor::LineEditor(std::vector<std::string> words) {
  g_words = new std::vector<std::string>(std::move(words));
  rl_readline_name = const_cast<char*>("gorepro");
  rl_attempted_completion_function = complete;
  using_history();
}

LineEditor::~LineEditor() {
  clear_history();
  delete g_words;
  g_words = nullptr;
}

std::optional<std::string> LineEditor::read(const std::string& prompt) {
  char* raw = nullptr;
  while (true) {
    errno = 0;
    raw = readline(prompt.c_str());
    // Ctrl-C (a signal gorepro handles) interrupts the read: drop the line and ask again, as a
    // shell does. Only end of input (Ctrl-D) ends the prompt.
    if (raw || errno != EINTR) break;
    std::fputs("^C\n", stdout);
    std::fflush(stdout);
  }
  if (!raw) return std::nullopt;
  std::string line(raw);
  std::free(raw);
  if (line.find_first_not_of(" \t") != std::string::npos) {
    HIST_ENTRY* last = history_length > 0 ? history_get(history_base + history_length - 1) : nullptr;
    if (!last || line != last->line) add_history(line.c_str());
  }
  return line;
}

}  // namespace gorepro::replay
