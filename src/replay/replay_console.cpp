#include "replay/replay_console.h"

#include <algorithm>
#include <functional>
#include <map>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "replay/duration.h"
#include "replay/frame_json.h"
#include "replay/leak_report.h"
#include "replay/site_counts.h"

namespace gorepro::replay {

struct ReplayConsole::Command {
  std::string name;
  std::vector<std::string> aliases;
  std::string usage;
  std::string summary;  // one line, for `help`
  std::string help;     // more, for `help NAME`
  std::function<ConsoleReply(ReplayConsole&, const Args&)> run;
};

namespace {

ConsoleReply failure(std::string what, std::string hint = {}) { return reply_failure(std::move(what), std::move(hint)); }
ConsoleReply usage_failure(std::string what, std::string hint = {}) {
  return reply_failure(std::move(what), std::move(hint), true);
}
ConsoleReply text_reply(std::string text) { return reply_text(std::move(text)); }

std::optional<EventKind> parse_kind(const std::string& s) {
  for (EventKind k : {EventKind::Create, EventKind::Park, EventKind::Ready, EventKind::Exit, EventKind::Sched})
    if (s == event_kind_name(k)) return k;
  return std::nullopt;
}

// Options of the form --name VALUE (and bare flags) after a command.
struct Flags {
  std::map<std::string, std::string> values;
  std::vector<std::string> positional;
};
Result<Flags> parse_flags(const std::vector<std::string>& args, const std::vector<std::string>& with_value,
                          const std::vector<std::string>& bare) {
  Flags f;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (!a.starts_with("--")) {
      f.positional.push_back(a);
      continue;
    }
    std::string name = a, value;
    if (auto eq = a.find('='); eq != std::string::npos) name = a.substr(0, eq), value = a.substr(eq + 1);
    if (std::find(bare.begin(), bare.end(), name) != bare.end()) {
      f.values[name] = "1";
    } else if (std::find(with_value.begin(), with_value.end(), name) != with_value.end()) {
      if (a.find('=') == std::string::npos) {
        if (i + 1 >= args.size()) return make_error(fmt::format("{} needs a value", name), "");
        value = args[++i];
      }
      f.values[name] = value;
    } else {
      return make_error(fmt::format("unknown option {}", name), "");
    }
  }
  return f;
}

}  // namespace

Result<std::vector<std::string>> split_command_line(std::string_view line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (char c : line) {
    if (quote) {
      if (c == quote)
        quote = 0;
      else
        word += c;
    } else if (c == '\'' || c == '"') {
      quote = c, in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      if (in_word) words.push_back(std::move(word)), word.clear(), in_word = false;
    } else {
      word += c, in_word = true;
    }
  }
  if (quote) return make_error(fmt::format("unterminated {} quote", quote), "close the quote");
  if (in_word) words.push_back(std::move(word));
  return words;
}

const std::vector<ReplayConsole::Command>& ReplayConsole::commands() {
  static const std::vector<Command> table = {
      {"next", {"n"}, "next [N] | next KIND [SITE]", "move forward N events, or to the next event of a kind",
       "KIND is create, park, ready, exit or sched. SITE is FILE:LINE (FILE matches by suffix) or a\n"
       "regex of function names: a create is at its go statement or start function, a park at\n"
       "where it blocked, a ready/exit at the go statement that created its goroutine.\n"
       "Examples: next 10   next create main.go:42   next park 'main\\.worker'",
       [](ReplayConsole& c, const Args& a) { return c.cmd_next(a, true); }},
      {"prev", {"p"}, "prev [N] | prev KIND [SITE]", "move backward N events, or to the previous event of a kind",
       "The mirror of next: same KINDs and SITEs, searching towards the start of the trace.",
       [](ReplayConsole& c, const Args& a) { return c.cmd_next(a, false); }},
      {"break", {"b"}, "break [SITE]", "stop continue/rcontinue at creations or blocks at SITE; alone: list",
       "A breakpoint at SITE stops at every create whose go statement (or start function) matches\n"
       "and every park whose block site (or, for a regex, any function of the block stack) matches.",
       [](ReplayConsole& c, const Args& a) { return c.cmd_break(a); }},
      {"delete", {"d"}, "delete [ID]", "delete breakpoint ID, or all breakpoints",
       "IDs are the numbers break prints.", [](ReplayConsole& c, const Args& a) { return c.cmd_delete(a); }},
      {"continue", {"c"}, "continue", "move forward to the next event at a breakpoint",
       "Fails when no breakpoint is set or none is hit before the end.",
       [](ReplayConsole& c, const Args& a) { return c.cmd_continue(a, true); }},
      {"rcontinue", {"rc"}, "rcontinue", "move backward to the previous event at a breakpoint",
       "The mirror of continue.", [](ReplayConsole& c, const Args& a) { return c.cmd_continue(a, false); }},
      {"goto", {"g"}, "goto EVENT|TIME|start|end", "move to event EVENT, to a time since the start, or to an end",
       "goto 1234 makes event 1234 current; goto 1.5s the last event at or before 1.5 s into the\n"
       "recording; goto start is before the first event; goto end is the last event.",
       [](ReplayConsole& c, const Args& a) { return c.cmd_goto(a); }},
      {"where", {"w"}, "where", "the current event: time, goroutine, site and stack",
       "", [](ReplayConsole& c, const Args& a) { return c.cmd_where(a); }},
      {"goroutines", {"gs"}, "goroutines [--state S] [--site SITE] [--reason R] [--all]",
       "the goroutines alive at this point, grouped like `gorepro report`",
       "--state waiting|runnable|running|syscall|unknown; --reason is a wait reason as printed\n"
       "(quote it: --reason 'chan send'); --site matches the go statement, start function or block\n"
       "site; --all also shows the runtime's own goroutines.",
       [](ReplayConsole& c, const Args& a) { return c.cmd_goroutines(a); }},
      {"goroutine", {"gr"}, "goroutine GOID", "one goroutine's whole history",
       "Who created it and where, every park (wait reason, block site, stack), every wake and by\n"
       "whom, and its exit, over the whole trace; a marker shows where the current point is.",
       [](ReplayConsole& c, const Args& a) { return c.cmd_goroutine(a); }},
      {"sites", {"s"}, "sites [--all]", "every go statement with created/alive counts at this point",
       "--all also shows the runtime's own sites.", [](ReplayConsole& c, const Args& a) { return c.cmd_sites(a); }},
      {"sched", {}, "sched", "the schedtrace sample nearest the current point (raw text)",
       "The last sample at or before the current event, else the first after it.",
       [](ReplayConsole& c, const Args& a) { return c.cmd_sched(a); }},
      {"help", {"h", "?"}, "help [COMMAND]", "list the commands, or explain one",
       "", [](ReplayConsole& c, const Args& a) { return c.cmd_help(a); }},
      {"quit", {"q"}, "quit", "leave (Ctrl-D too)", "",
       [](ReplayConsole&, const Args&) {
         ConsoleReply r;
         r.quit = true;
         return r;
       }},
  };
  return table;
}

std::vector<std::string> ReplayConsole::command_words() {
  std::vector<std::string> out;
  for (const auto& c : commands()) out.push_back(c.name);
  return out;
}

ReplayConsole::ReplayConsole(const TraceReader& reader, const TraceSymbols& symbols, Replayer& replayer, bool json)
    : reader_(reader), symbols_(symbols), replayer_(replayer), json_(json), view_(reader, symbols) {}

ReplayConsole::~ReplayConsole() = default;

uint64_t ReplayConsole::position() const { return replayer_.position(); }

std::string ReplayConsole::prompt() const {
  uint64_t pos = position();
  return pos == 0 ? fmt::format("(gorepro start/{}) ", reader_.event_count())
                  : fmt::format("(gorepro {}/{}) ", pos - 1, reader_.event_count());
}

uint64_t ReplayConsole::now_ns() const {
  return position() == 0 ? reader_.start_time_ns() : replayer_.table().time_ns();
}

ConsoleReply ReplayConsole::execute(std::string_view line) {
  auto words = split_command_line(line);
  if (!words) return usage_failure(words.error().what, words.error().hint);
  if (words->empty()) return {};
  const std::string name = words->front();
  Args args(words->begin() + 1, words->end());
  for (const auto& c : commands()) {
    if (c.name != name && std::find(c.aliases.begin(), c.aliases.end(), name) == c.aliases.end()) continue;
    current_command_ = c.name;
    ConsoleReply r = c.run(*this, args);
    if (r.error && r.usage_error && r.error->hint.empty()) r.error->hint = "usage: " + c.usage;
    return r;
  }
  return usage_failure(fmt::format("unknown command '{}'", name), "type help for the list of commands");
}

Result<std::unique_ptr<SiteMatcher>> ReplayConsole::matcher(const std::string& site) const {
  auto p = SitePattern::parse(site);
  if (!p) return p.error();
  return std::make_unique<SiteMatcher>(std::move(*p), reader_, symbols_);
}

ConsoleReply ReplayConsole::moved(const std::string& command) {
  const uint64_t pos = position();
  std::optional<Event> e = pos ? event_at(reader_, pos - 1) : std::nullopt;
  if (json_) {
    nlohmann::json j = {{"command", command}, {"position", pos},
                        {"event", e ? view_.to_json(*e, false) : nlohmann::json(nullptr)}};
    return text_reply(j.dump() + "\n");
  }
  if (!e) return text_reply(fmt::format("before event 0 (the start of the trace; {} events)\n", reader_.event_count()));
  return text_reply(view_.summary(*e) + "\n");
}

ConsoleReply ReplayConsole::seek_to(std::optional<Event> found, const std::string& command, std::string what,
                                    bool forward) {
  if (!found) {
    const uint64_t pos = position();
    std::string from = pos == 0 ? "the start" : fmt::format("event {}", pos - 1);
    return failure(fmt::format("no {} {} {}", what, forward ? "after" : "before", from),
                   forward ? fmt::format("the trace ends at event {}", reader_.event_count() - 1)
                           : "the position did not change");
  }
  replayer_.seek_to_event(found->seq);
  return moved(command);
}

ConsoleReply ReplayConsole::cmd_next(const Args& a, bool forward) {
  const uint64_t pos = position(), count = reader_.event_count();
  if (a.empty() || parse_count(a[0])) {
    if (a.size() > 1) return usage_failure("too many arguments");
    uint64_t n = a.empty() ? 1 : *parse_count(a[0]);
    if (forward) {
      if (pos >= count) return failure(fmt::format("at the end of the trace (event {})", count - 1), "use prev or goto");
      replayer_.seek(std::min(count, pos + n));
    } else {
      if (pos == 0) return failure("at the start of the trace", "use next or goto");
      replayer_.seek(n >= pos ? 0 : pos - n);
    }
    return moved(current_command_);
  }
  auto kind = parse_kind(a[0]);
  if (!kind) return usage_failure(fmt::format("cannot read '{}' as a count or an event kind", a[0]),
                                  "give N, or create, park, ready, exit or sched, e.g. next create main.go:42");
  if (a.size() > 2) return usage_failure("too many arguments", "quote a site that contains spaces");
  if (a.size() == 2 && *kind == EventKind::Sched) return usage_failure("sched samples have no site");
  std::unique_ptr<SiteMatcher> site;
  if (a.size() == 2) {
    auto m = matcher(a[1]);
    if (!m) return usage_failure(m.error().what, m.error().hint);
    site = std::move(*m);
  }
  const EventKind k = *kind;
  std::string what(event_kind_name(k));
  if (site) what += " at " + site->pattern().text();
  // A ready or exit is at its goroutine's go statement. Searching forward, that goroutine is
  // alive here (the table knows its go statement) or is created on the way.
  const bool by_creation = site && k != EventKind::Create && k != EventKind::Park;
  if (by_creation && !forward) return prev_by_creation(k, *site, what);
  std::unordered_map<uint64_t, CreationKey> created_on_the_way;
  auto creation_of = [&](uint64_t goid) -> std::optional<CreationKey> {
    if (auto it = created_on_the_way.find(goid); it != created_on_the_way.end()) return it->second;
    return replayer_.table().creation_of(goid);
  };
  EventPredicate pred = [&](const Event& e) {
    const bool on_the_way = by_creation && forward;
    if (on_the_way && (e.kind == EventKind::Create || e.kind == EventKind::Preexisting))
      created_on_the_way[e.goid] = {e.pc, e.start_pc};
    bool match = e.kind == k;
    if (match && by_creation) {
      auto created = creation_of(e.goid);
      match = created && site->creation_matches(created->gopc, created->start_pc);
    } else if (match && site) {
      match = site->event_matches(e);
    }
    if (on_the_way && e.kind == EventKind::Exit) created_on_the_way.erase(e.goid);
    return match;
  };
  auto found = forward ? find_next_event(reader_, pos, pred) : find_prev_event(reader_, pos ? pos - 1 : 0, pred);
  return seek_to(found, current_command_, what, forward);
}

// Backward, a ready or exit matches by its goroutine's go statement: search one checkpoint
// interval at a time, newest first. Such a goroutine was alive at the interval's checkpoint
// (whose table knows its go statement) or was created inside the interval before the event,
// so nothing outside the interval is needed — no index of the whole trace.
ConsoleReply ReplayConsole::prev_by_creation(EventKind k, const SiteMatcher& site, const std::string& what) {
  const uint64_t pos = position();
  std::optional<Event> found;
  for (uint64_t end = pos ? pos - 1 : 0; end > 0 && !found;) {
    auto [at, base] = replayer_.checkpoint_at_or_before(end - 1);
    std::unordered_map<uint64_t, CreationKey> created;
    auto cursor = reader_.cursor(at);
    for (Event e; cursor.position() < end && cursor.next(e);) {
      if (e.kind == EventKind::Create || e.kind == EventKind::Preexisting) created[e.goid] = {e.pc, e.start_pc};
      if (e.kind != k) continue;
      std::optional<CreationKey> key;
      if (auto it = created.find(e.goid); it != created.end()) {
        key = it->second;
      } else if (base) {
        key = base->creation_of(e.goid);
      }
      if (key && site.creation_matches(key->gopc, key->start_pc)) found = e;
    }
    end = at;
  }
  return seek_to(found, current_command_, what, false);
}

ConsoleReply ReplayConsole::cmd_continue(const Args& a, bool forward) {
  if (!a.empty()) return usage_failure("continue takes no arguments", "set stops with break SITE");
  if (breakpoints_.empty()) return failure("no breakpoints", "set one with break SITE, e.g. break main.go:42");
  EventPredicate pred = [&](const Event& e) {
    if (e.kind != EventKind::Create && e.kind != EventKind::Park) return false;
    for (const auto& b : breakpoints_)
      if (b.matcher->event_matches(e)) return true;
    return false;
  };
  const uint64_t pos = position();
  auto found = forward ? find_next_event(reader_, pos, pred) : find_prev_event(reader_, pos ? pos - 1 : 0, pred);
  return seek_to(found, current_command_, "breakpoint hit", forward);
}

ConsoleReply ReplayConsole::cmd_break(const Args& a) {
  if (a.size() > 1) return usage_failure("too many arguments", "quote a site that contains spaces");
  if (a.empty()) {
    if (json_) {
      auto list = nlohmann::json::array();
      for (const auto& b : breakpoints_) list.push_back({{"id", b.id}, {"site", b.matcher->pattern().text()}});
      return text_reply(nlohmann::json{{"command", "break"}, {"breakpoints", list}}.dump() + "\n");
    }
    if (breakpoints_.empty()) return text_reply("no breakpoints\n");
    std::string out;
    for (const auto& b : breakpoints_) out += fmt::format("{}: {}\n", b.id, b.matcher->pattern().text());
    return text_reply(out);
  }
  auto m = matcher(a[0]);
  if (!m) return usage_failure(m.error().what, m.error().hint);
  breakpoints_.push_back({next_breakpoint_++, std::move(*m)});
  const auto& b = breakpoints_.back();
  if (json_)
    return text_reply(nlohmann::json{{"command", "break"}, {"id", b.id}, {"site", b.matcher->pattern().text()}}.dump() +
                      "\n");
  return text_reply(fmt::format("breakpoint {} at {}\n", b.id, b.matcher->pattern().text()));
}

ConsoleReply ReplayConsole::cmd_delete(const Args& a) {
  if (a.size() > 1) return usage_failure("too many arguments");
  size_t before = breakpoints_.size();
  if (a.empty()) {
    breakpoints_.clear();
  } else {
    auto id = parse_count(a[0]);
    if (!id) return usage_failure(fmt::format("cannot read breakpoint id '{}'", a[0]));
    std::erase_if(breakpoints_, [&](const Breakpoint& b) { return static_cast<uint64_t>(b.id) == *id; });
    if (breakpoints_.size() == before) return failure(fmt::format("no breakpoint {}", a[0]), "break lists them");
  }
  const size_t deleted = before - breakpoints_.size();
  if (json_) return text_reply(nlohmann::json{{"command", "delete"}, {"deleted", deleted}}.dump() + "\n");
  return text_reply(fmt::format("deleted {} breakpoint{}\n", deleted, deleted == 1 ? "" : "s"));
}

ConsoleReply ReplayConsole::cmd_goto(const Args& a) {
  if (a.size() != 1) return usage_failure("goto needs one argument");
  const uint64_t count = reader_.event_count();
  Replayer& r = replayer_;
  if (a[0] == "start") {
    r.seek(0);
  } else if (a[0] == "end") {
    if (count == 0) return failure("the trace has no events");
    r.run_to_end();
  } else {
    auto point = parse_replay_point(a[0]);
    if (!point) return usage_failure(fmt::format("cannot read '{}' as an event or a time", a[0]),
                                     "give an event number (goto 1234), a time since the start (goto 1.5s), start or end");
    if (!point->by_time && point->value >= count)
      return failure(fmt::format("the trace has {} events", count),
                     count ? fmt::format("give an event number below {}", count) : "");
    if (point->by_time)
      r.seek_time(reader_.start_time_ns() + point->value);
    else
      r.seek_to_event(point->value);
  }
  return moved(current_command_);
}

ConsoleReply ReplayConsole::cmd_where(const Args& a) {
  if (!a.empty()) return usage_failure("where takes no arguments");
  const uint64_t pos = position();
  std::optional<Event> e = pos ? event_at(reader_, pos - 1) : std::nullopt;
  if (json_) {
    nlohmann::json j = {{"command", "where"}, {"position", pos},
                        {"event", e ? view_.to_json(*e, true) : nlohmann::json(nullptr)}};
    return text_reply(j.dump() + "\n");
  }
  if (!e) return moved("where");
  return text_reply(view_.details(*e));
}

ConsoleReply ReplayConsole::cmd_goroutines(const Args& a) {
  auto flags = parse_flags(a, {"--state", "--site", "--reason"}, {"--all"});
  if (!flags) return usage_failure(flags.error().what);
  if (!flags->positional.empty()) return usage_failure(fmt::format("unexpected argument '{}'", flags->positional[0]));
  auto& v = flags->values;
  std::unique_ptr<SiteMatcher> site;
  if (v.count("--site")) {
    auto m = matcher(v["--site"]);
    if (!m) return usage_failure(m.error().what, m.error().hint);
    site = std::move(*m);
  }
  if (v.count("--state")) {
    bool known = false;
    for (int s = 0; s < kGoStateCount; ++s) known |= go_state_name(static_cast<GoState>(s)) == v["--state"];
    if (!known) return usage_failure(fmt::format("unknown state '{}'", v["--state"]),
                                     "give waiting, runnable, running, syscall or unknown");
  }
  ReportOptions options;
  options.include_runtime = v.count("--all") > 0;
  auto report = build_report(reader_, replayer_.table(), symbols_, options, now_ns());
  if (!report) return failure(report.error().what, report.error().hint);
  std::erase_if(report->groups, [&](const LeakGroup& g) {
    if (v.count("--state") && go_state_name(g.state) != v["--state"]) return true;
    if (v.count("--reason") && g.wait_reason != v["--reason"]) return true;
    if (site && !site->pattern().matches(g.creation_site) && !site->pattern().matches_function(g.start_function) &&
        !(!g.block_site.function.empty() && site->pattern().matches(g.block_site)))
      return true;
    return false;
  });
  if (json_)
    return text_reply(nlohmann::json{{"command", "goroutines"}, {"position", position()},
                                     {"report", report_to_json(*report)}}.dump() + "\n");
  return text_reply(format_report_text(*report));
}

ConsoleReply ReplayConsole::cmd_goroutine(const Args& a) {
  if (a.size() != 1) return usage_failure("goroutine needs one GOID");
  auto goid = parse_count(a[0]);
  if (!goid || *goid == 0) return usage_failure(fmt::format("cannot read goroutine id '{}'", a[0]));
  std::vector<Event> history;
  auto cursor = reader_.cursor(0);
  for (Event e; cursor.next(e);)
    if (e.goid == *goid && e.kind != EventKind::Sched) history.push_back(e);
  if (history.empty())
    return failure(fmt::format("goroutine {} does not appear in this trace", *goid), "goroutines lists the live ones");
  const uint64_t pos = position();
  // Its state now: from the table while it lives; before its first event or after its exit the
  // table no longer knows it.
  std::string state;
  if (const Goroutine* g = replayer_.table().find(*goid)) {
    state = go_state_name(g->state);
    if (g->state == GoState::Waiting) state += ": " + reader_.header().wait_reason_name(g->wait_reason);
  } else {
    state = history.front().seq >= pos ? "not created yet" : "dead";
  }
  if (json_) {
    auto events = nlohmann::json::array();
    for (const auto& e : history) events.push_back(view_.to_json(e, true));
    return text_reply(nlohmann::json{{"command", "goroutine"}, {"goid", *goid}, {"position", pos},
                                     {"state", state}, {"events", events}}.dump() + "\n");
  }
  std::string out = fmt::format("goroutine {}: {} as of {}; {} event{}\n", *goid, state,
                                pos ? fmt::format("event {}", pos - 1) : "the start", history.size(),
                                history.size() == 1 ? "" : "s");
  const std::string marker =
      fmt::format("  --- current point: {} ---\n", pos ? fmt::format("event {}", pos - 1) : "the start");
  bool marked = false;
  for (const auto& e : history) {
    if (!marked && e.seq >= pos) out += marker, marked = true;
    std::string d = view_.details(e);
    for (size_t start = 0; start < d.size();) {
      size_t end = d.find('\n', start);
      out += "  " + d.substr(start, end - start + 1);
      start = end + 1;
    }
  }
  if (!marked) out += marker;
  return text_reply(out);
}

ConsoleReply ReplayConsole::cmd_sites(const Args& a) {
  auto flags = parse_flags(a, {}, {"--all"});
  if (!flags) return usage_failure(flags.error().what);
  if (!flags->positional.empty()) return usage_failure(fmt::format("unexpected argument '{}'", flags->positional[0]));
  SiteCounts counts = count_sites(replayer_.table(), symbols_, flags->values.count("--all") > 0);
  const uint64_t pos = position();
  if (json_) {
    auto sites = nlohmann::json::array();
    for (const auto& s : counts.sites)
      sites.push_back({{"creation_site", frame_to_json(s.site)}, {"start_function", s.start_function},
                       {"created", s.created}, {"alive", s.alive}});
    return text_reply(nlohmann::json{{"command", "sites"}, {"position", pos}, {"sites", sites},
                                     {"hidden_runtime", counts.hidden_runtime}}.dump() + "\n");
  }
  std::string out = fmt::format("go statements as of {}:\n{:>8} {:>8}  {}\n",
                                pos ? fmt::format("event {}", pos - 1) : "the start", "alive", "created", "site");
  for (const auto& s : counts.sites)
    out += fmt::format("{:>8} {:>8}  {}  starts {}\n", s.alive, s.created, format_frame(s.site), s.start_function);
  if (counts.hidden_runtime)
    out += fmt::format("({} runtime goroutine{} alive, hidden: sites --all shows them)\n", counts.hidden_runtime,
                       counts.hidden_runtime == 1 ? "" : "s");
  return text_reply(out);
}

ConsoleReply ReplayConsole::cmd_sched(const Args& a) {
  if (!a.empty()) return usage_failure("sched takes no arguments");
  auto is_sched = [](const Event& e) { return e.kind == EventKind::Sched; };
  const uint64_t pos = position();
  auto found = find_prev_event(reader_, pos, is_sched);
  if (!found) found = find_next_event(reader_, pos, is_sched);
  if (!found) return failure("this trace has no schedtrace samples", "they are recorded from GODEBUG=schedtrace output");
  if (json_)
    return text_reply(nlohmann::json{{"command", "sched"}, {"position", pos}, {"event", view_.to_json(*found, false)}}
                          .dump() + "\n");
  const std::string& text = reader_.string(found->text);
  return text_reply(fmt::format("event {}  {}\n{}{}", found->seq, view_.since_start(found->time_ns), text,
                                text.ends_with('\n') ? "" : "\n"));
}

ConsoleReply ReplayConsole::cmd_help(const Args& a) {
  auto out = console_help(commands(), a);
  if (!out) return usage_failure(out.error().what, out.error().hint);
  if (json_) return text_reply(nlohmann::json{{"command", "help"}, {"text", *out}}.dump() + "\n");
  return text_reply(*out);
}

}  // namespace gorepro::replay
