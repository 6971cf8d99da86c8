#include "debug/debug_console.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "replay/duration.h"
#include "replay/frame_json.h"
#include "replay/site_counts.h"

namespace gorepro::debug {

using replay::ConsoleReply;
using replay::Event;
using replay::EventKind;
using replay::reply_failure;
using replay::reply_text;

struct DebugConsole::Command {
  std::string name;
  std::vector<std::string> aliases;
  std::string usage;
  std::string summary;  // one line, for `help`
  std::string help;     // more, for `help NAME`
  std::function<ConsoleReply(DebugConsole&, const Args&, std::string_view rest)> run;
};

namespace {

ConsoleReply usage_failure(std::string what, std::string hint = {}) {
  return reply_failure(std::move(what), std::move(hint), true);
}

uint64_t monotonic_now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

std::string ordinal(uint64_t n) {
  const uint64_t t = n % 100;
  const char* suffix = (t >= 11 && t <= 13) ? "th" : n % 10 == 1 ? "st" : n % 10 == 2 ? "nd" : n % 10 == 3 ? "rd" : "th";
  return fmt::format("{}{}", n, suffix);
}

std::string indent(const std::vector<SourceFrame>& frames) {
  std::string out;
  for (const SourceFrame& f : frames) out += "  " + replay::format_frame(f) + "\n";
  return out;
}

nlohmann::json frames_json(const std::vector<SourceFrame>& frames) {
  auto out = nlohmann::json::array();
  for (const SourceFrame& f : frames) out.push_back(replay::frame_to_json(f));
  return out;
}

}  // namespace

// Everything the probes see goes to the session's trace and its goroutine table.
class DebugConsole::Sink : public tracer::EventSink {
 public:
  explicit Sink(DebugConsole& c) : c_(c) {}
  replay::StackId intern_stack(std::span<const uint64_t> pcs) override {
    replay::StackId id = c_.writer_->intern_stack(pcs);
    if (id >= c_.stacks_.size()) c_.stacks_.resize(id + 1);
    if (c_.stacks_[id].empty()) c_.stacks_[id].assign(pcs.begin(), pcs.end());
    return id;
  }
  Status emit(const Event& e) override {
    c_.table_.apply(e);
    return c_.writer_->append(e);
  }
  Status emit_labeled(const Event& e, const replay::Labels& labels) override {
    c_.table_.apply(e);
    return c_.writer_->append(e, &labels);
  }
  Status tick(uint64_t now_ns) override { return c_.writer_->flush_if_due(now_ns); }

 private:
  DebugConsole& c_;
};

std::string DebugConsole::Breakpoint::text() const {
  if (kind == "block") return fmt::format("block '{}'", reason);
  return fmt::format("{} {}", kind, site ? site->text() : "any");
}

const std::vector<DebugConsole::Command>& DebugConsole::commands() {
  static const std::vector<Command> table = {
      {"break", {"b"}, "break create SITE|any | break park SITE|any | break block REASON",
       "hold the program where goroutines are created, park, or block for a reason",
       "create SITE: a goroutine created at a go statement (FILE:LINE, FILE matching by suffix, or a\n"
       "regex of the statement's function or the goroutine's start function); park SITE: a goroutine\n"
       "parking where it blocked (FILE:LINE of its block site, or a regex of any function of its block\n"
       "stack); block REASON: parking for a wait reason ('chan send', select, ...); any: every one.\n"
       "Examples: break create main.go:42   break park 'main\\.worker'   break block 'chan receive'",
       [](DebugConsole& c, const Args& a, std::string_view) { return c.cmd_break(a); }},
      {"breaks", {"info"}, "breaks", "list the breakpoints", "",
       [](DebugConsole& c, const Args& a, std::string_view) { return c.cmd_breaks(a); }},
      {"delete", {"d"}, "delete [ID]", "delete breakpoint ID, or all of them", "IDs are the numbers break prints.",
       [](DebugConsole& c, const Args& a, std::string_view) { return c.cmd_delete(a); }},
      {"continue", {"c"}, "continue [N]", "run until the Nth breakpoint hit (default 1), Ctrl-C, or the end",
       "The program runs; it is held again at the Nth event that matches any breakpoint (hits before\n"
       "it are counted, not shown), when you press Ctrl-C, or it ends. Without breakpoints it runs\n"
       "until Ctrl-C or its end.",
       [](DebugConsole& c, const Args& a, std::string_view) { return c.cmd_continue(a); }},
      {"where", {"w"}, "where", "the event the program is held at, with its stack", "",
       [](DebugConsole& c, const Args& a, std::string_view) { return c.cmd_where(a); }},
      {"goroutines", {"gs"}, "goroutines [--all]", "every live goroutine: id, state, for how long, go statement",
       "As seen by the probes up to now (goroutines alive when gorepro attached included). --all also\n"
       "lists the runtime's own goroutines.",
       [](DebugConsole& c, const Args& a, std::string_view) { return c.cmd_goroutines(a); }},
      {"goroutine", {"gr"}, "goroutine GOID", "one goroutine: state, parent, where it was created, its stack",
       "Its stack is where it blocked when it waits; a goroutine that is running or runnable has none\n"
       "saved by the probes.",
       [](DebugConsole& c, const Args& a, std::string_view) { return c.cmd_goroutine(a); }},
      {"sites", {"s"}, "sites [--all]", "every go statement with goroutines created and alive", "",
       [](DebugConsole& c, const Args& a, std::string_view) { return c.cmd_sites(a); }},
      {"verdicts", {"v"}, "verdicts [--all]", "scan the held program's heap now: which goroutines can never wake",
       "The leak verdicts record takes at a program's end (docs/verdicts.md), taken now: leaked (what it\n"
       "waits on is unreachable from everything that can still run), time_io (waits on a timer, the\n"
       "netpoller, a system call), may_wake (what it waits on is still reachable). One line per group\n"
       "(verdict, state, go statement), leaks first. --all also shows the runtime's own goroutines.\n"
       "ptrace and gdb backends.",
       [](DebugConsole& c, const Args& a, std::string_view) { return c.cmd_verdicts(a); }},
      {"gdb", {}, "gdb COMMAND...", "run a gdb command in the held program (--backend gdb)",
       "Examples: gdb info threads   gdb print key   gdb bt",
       [](DebugConsole& c, const Args& a, std::string_view rest) { return c.cmd_gdb(a, rest); }},
      {"record", {}, "record FILE", "write the trace of everything seen so far to FILE",
       "FILE is a complete .gtr trace: gorepro report, replay and diff read it.",
       [](DebugConsole& c, const Args& a, std::string_view) { return c.cmd_record(a); }},
      {"detach", {}, "detach", "let the program go; it runs on as if never traced", "",
       [](DebugConsole& c, const Args& a, std::string_view) { return c.cmd_detach(a); }},
      {"kill", {}, "kill", "end the program (SIGKILL)", "",
       [](DebugConsole& c, const Args& a, std::string_view) { return c.cmd_kill(a); }},
      {"help", {"h", "?"}, "help [COMMAND]", "list the commands, or explain one", "",
       [](DebugConsole& c, const Args& a, std::string_view) { return c.cmd_help(a); }},
      {"quit", {"q"}, "quit", "leave: an attached program is detached, a launched one is killed (Ctrl-D too)", "",
       [](DebugConsole&, const Args&, std::string_view) {
         ConsoleReply r;
         r.quit = true;
         return r;
       }},
  };
  return table;
}

std::vector<std::string> DebugConsole::command_words() {
  std::vector<std::string> out;
  for (const auto& c : commands()) out.push_back(c.name);
  return out;
}

DebugConsole::DebugConsole(tracer::Backend& backend, tracer::LiveTarget& live, const GoBinary& binary,
                           const DebugOptions& o)
    : backend_(backend), live_(live), binary_(binary), options_(o), symbols_(&binary.symbolizer()) {}

Result<std::unique_ptr<DebugConsole>> DebugConsole::start(tracer::Backend& backend, const GoBinary& binary,
                                                          const DebugOptions& o) {
  tracer::LiveTarget* live = backend.live();
  if (!live) {
    return make_error(fmt::format("the {} backend cannot hold a live program", backend.name()),
                      "use --backend ptrace or --backend gdb");
  }
  std::unique_ptr<DebugConsole> c(new DebugConsole(backend, *live, binary, o));
  replay::TraceHeader header;
  header.binary_path = std::filesystem::absolute(o.program_path).string();
  header.build_id = binary.build_id();
  header.go_version = binary.go_version();
  header.backend = backend.name();
  header.wait_reasons = binary.layout().wait_reasons;
  if (o.pid) header.pid = o.pid; else header.argv = o.command;
  const std::vector<const Probe*> probes = tracer::chosen_probes(binary, {}, backend.caps());
  for (const Probe* p : probes) header.probes.push_back(p->role + ":" + p->function.name);

  if (o.pid) {
    if (auto st = backend.attach(o.pid); !st) return st.error();
  } else {
    tracer::LaunchSpec spec{o.program_path, o.command, {}};
    spec.options.own_process_group = true;  // Ctrl-C at the terminal reaches gorepro, which holds the program
    if (auto st = backend.launch(spec); !st) return st.error();
  }
  header.clock = replay::ClockBase::now();
  auto writer = replay::TraceWriter::create(o.scratch_trace, header);
  if (!writer) {
    if (!o.pid) (void)live->kill();
    (void)backend.detach();
    return writer.error();
  }
  c->writer_ = std::move(*writer);
  c->sink_ = std::make_unique<Sink>(*c);
  tracer::ArmSpec arm;
  arm.probes = probes;
  arm.stack_depth = o.stack_depth;
  arm.enumerate_preexisting = o.pid != 0;
  arm.start_held = true;
  if (auto armed = backend.arm(arm, *c->sink_); !armed) {
    if (!o.pid) (void)live->kill();
    (void)backend.detach();
    return armed.error();
  }
  c->started_ns_ = monotonic_now();
  return c;
}

DebugConsole::~DebugConsole() {
  if (state_ == State::kHeld) {
    if (options_.pid) (void)backend_.detach(); else (void)live_.kill();
  }
  if (writer_) (void)writer_->close();
}

std::string DebugConsole::prompt() const {
  switch (state_) {
    case State::kHeld: return "(gorepro debug) ";
    case State::kExited: return "(gorepro debug: exited) ";
    case State::kDetached: return "(gorepro debug: detached) ";
  }
  return "(gorepro debug) ";
}

std::string DebugConsole::banner() const {
  return fmt::format("gorepro debug: {} (pid {}, {}, {} backend) is held{}. Set breakpoints (help break), then continue.",
                     options_.program_path, backend_.pid(), binary_.go_version(), backend_.name(),
                     options_.pid ? "" : " before its first instruction");
}

int DebugConsole::exit_status() const { return exit_ ? exit_->exit_status : 0; }

uint64_t DebugConsole::now_ns() const { return std::max(table_.time_ns(), monotonic_now()); }

ConsoleReply DebugConsole::reply(const std::string& command, nlohmann::json fields, std::string text) const {
  if (!options_.json) return reply_text(std::move(text));
  nlohmann::json j = {{"command", command}};
  for (auto& [k, v] : fields.items()) j[k] = v;
  return reply_text(j.dump() + "\n");
}

ConsoleReply DebugConsole::execute(std::string_view line) {
  auto words = replay::split_command_line(line);
  if (!words) return usage_failure(words.error().what, words.error().hint);
  if (words->empty()) return reply_text("");
  const std::string name = words->front();
  auto it = std::find_if(commands().begin(), commands().end(), [&](const Command& c) {
    return c.name == name || std::find(c.aliases.begin(), c.aliases.end(), name) != c.aliases.end();
  });
  if (it == commands().end()) return usage_failure(fmt::format("unknown command '{}'", name), "help lists the commands");
  Args args(words->begin() + 1, words->end());
  // The raw text after the command word, for gdb's own quoting.
  std::string_view rest = line.substr(std::min(line.size(), line.find(name) + name.size()));
  rest.remove_prefix(std::min(rest.size(), rest.find_first_not_of(" \t") == std::string_view::npos
                                               ? rest.size()
                                               : rest.find_first_not_of(" \t")));
  return it->run(*this, args, rest);
}

bool DebugConsole::is_runtime(const replay::Goroutine& g) const {
  const std::string start = symbols_.function_at(g.start_pc);
  if (start == "runtime.main") return false;  // the program's main goroutine, though the runtime starts it
  return symbols_.is_runtime_goroutine(symbols_.creation_site(g.gopc), start);
}

std::span<const uint64_t> DebugConsole::stack(replay::StackId id) const {
  if (id >= stacks_.size()) return {};
  return stacks_[id];
}

bool DebugConsole::matches(const Breakpoint& b, const Event& e) const {
  if (b.kind == "create") {
    if (e.kind != EventKind::Create) return false;
    if (!b.site) return true;
    return b.site->matches(symbols_.creation_site(e.pc)) || b.site->matches_function(symbols_.function_at(e.start_pc));
  }
  if (e.kind != EventKind::Park) return false;
  if (b.kind == "block") return binary_.layout().wait_reason(e.wait_reason) == b.reason;
  if (!b.site) return true;
  auto pcs = stack(e.stack);
  if (b.site->is_file_line()) return b.site->matches(symbols_.block_site(pcs));
  for (const SourceFrame& f : symbols_.frames(pcs, true)) {
    if (b.site->matches_function(f.function)) return true;
  }
  return false;
}

uint64_t DebugConsole::site_count(const Event& e) const {
  auto count = table_.created_by_site().find(replay::CreationKey{e.pc, e.start_pc});
  return count == table_.created_by_site().end() ? 0 : count->second;
}

nlohmann::json DebugConsole::event_json(const Event& e) const {
  nlohmann::json j = {{"kind", std::string(replay::event_kind_name(e.kind))}, {"goid", e.goid}, {"tid", e.tid}};
  if (e.kind == EventKind::Create) {
    j["parent"] = e.other_goid;
    j["creation_site"] = replay::frame_to_json(symbols_.creation_site(e.pc));
    j["start_function"] = symbols_.function_at(e.start_pc);
    j["count_at_site"] = held_count_;
    j["stack"] = frames_json(symbols_.frames(stack(e.stack), false));
  } else if (e.kind == EventKind::Park) {
    j["wait_reason"] = binary_.layout().wait_reason(e.wait_reason);
    j["block_site"] = replay::frame_to_json(symbols_.block_site(stack(e.stack)));
    j["object"] = e.object;
    j["stack"] = frames_json(symbols_.frames(stack(e.stack), true));
  }
  return j;
}

std::string DebugConsole::describe(const Event& e) const {
  if (e.kind == EventKind::Create) {
    const SourceFrame site = symbols_.creation_site(e.pc);
    return fmt::format("goroutine {} created by goroutine {} at {} ({}), the {} at this go statement; starts {}\n{}",
                       e.goid, e.other_goid, replay::format_site(site), site.function,
                       ordinal(held_count_),
                       symbols_.function_at(e.start_pc), indent(symbols_.frames(stack(e.stack), false)));
  }
  if (e.kind == EventKind::Park) {
    const SourceFrame site = symbols_.block_site(stack(e.stack));
    return fmt::format("goroutine {} blocks ({}) at {} ({})\n{}", e.goid, binary_.layout().wait_reason(e.wait_reason),
                       replay::format_site(site), site.function, indent(symbols_.frames(stack(e.stack), true)));
  }
  return fmt::format("goroutine {}: {}\n", e.goid, replay::event_kind_name(e.kind));
}

ConsoleReply DebugConsole::ended_reply(const std::string& what) {
  return reply_failure(fmt::format("cannot {}: the program {}", what,
                                   state_ == State::kExited ? "has exited" : "is detached"),
                       "record FILE still saves what was seen; quit leaves");
}

ConsoleReply DebugConsole::cmd_break(const Args& a) {
  if (a.empty()) return cmd_breaks(a);
  if (a.size() != 2 || (a[0] != "create" && a[0] != "park" && a[0] != "block")) {
    return usage_failure("break needs create SITE, park SITE or block REASON", "help break explains them");
  }
  Breakpoint b;
  b.id = next_breakpoint_;
  b.kind = a[0];
  if (b.kind == "block") {
    const auto& reasons = binary_.layout().wait_reasons;
    if (std::find(reasons.begin(), reasons.end(), a[1]) == reasons.end()) {
      return usage_failure(fmt::format("'{}' is not a wait reason of {}", a[1], binary_.go_version()),
                           "e.g. 'chan send', 'chan receive', select, 'sync.Mutex.Lock', semacquire");
    }
    b.reason = a[1];
  } else if (a[1] != "any") {
    auto site = replay::SitePattern::parse(a[1]);
    if (!site) return usage_failure(site.error().what, site.error().hint);
    b.site = std::move(*site);
  }
  next_breakpoint_++;
  breakpoints_.push_back(std::move(b));
  const Breakpoint& added = breakpoints_.back();
  return reply("break", {{"id", added.id}, {"breakpoint", added.text()}},
               fmt::format("breakpoint {}: {}\n", added.id, added.text()));
}

ConsoleReply DebugConsole::cmd_breaks(const Args&) {
  std::string text = breakpoints_.empty() ? "no breakpoints\n" : "";
  auto list = nlohmann::json::array();
  for (const Breakpoint& b : breakpoints_) {
    text += fmt::format("  {}  {}\n", b.id, b.text());
    list.push_back({{"id", b.id}, {"breakpoint", b.text()}});
  }
  return reply("breaks", {{"breakpoints", list}}, text);
}

ConsoleReply DebugConsole::cmd_delete(const Args& a) {
  if (a.empty()) {
    breakpoints_.clear();
    return reply("delete", {{"deleted", "all"}}, "deleted every breakpoint\n");
  }
  auto id = replay::parse_count(a[0]);
  auto it = std::find_if(breakpoints_.begin(), breakpoints_.end(), [&](const Breakpoint& b) {
    return id && static_cast<uint64_t>(b.id) == *id;
  });
  if (it == breakpoints_.end()) return usage_failure(fmt::format("no breakpoint '{}'", a[0]), "breaks lists them");
  breakpoints_.erase(it);
  return reply("delete", {{"deleted", *id}}, fmt::format("deleted breakpoint {}\n", *id));
}

ConsoleReply DebugConsole::cmd_continue(const Args& a) {
  if (state_ != State::kHeld) return ended_reply("continue");
  uint64_t n = 1;
  if (!a.empty()) {
    auto v = replay::parse_count(a[0]);
    if (a.size() > 1 || !v || *v == 0) return usage_failure("continue takes one count of 1 or more");
    n = *v;
  }
  uint64_t seen = 0;
  live_.hold_when([this, n, &seen](const Event& e) {
    for (const Breakpoint& b : breakpoints_) {
      if (!matches(b, e) || ++seen != n) continue;
      // As of this event: hits other threads made while the hold stops them come after it.
      held_count_ = site_count(e);
      return true;
    }
    return false;
  });
  held_at_.reset();
  if (Status st = live_.resume(); !st) return reply_failure(st.error().what, st.error().hint);
  tracer::PollResult r;
  do {
    r = backend_.poll(monotonic_now() + 200'000'000);
    if (r.kind == tracer::PollResult::Kind::kTimeout) (void)writer_->flush_if_due(monotonic_now());
  } while (r.kind == tracer::PollResult::Kind::kTimeout);
  live_.hold_when({});
  using K = tracer::PollResult::Kind;
  if (r.kind == K::kHeld) {
    held_at_ = r.held_at;
    if (!held_at_) {
      return reply("continue", {{"held", true}, {"interrupted", true}},
                   fmt::format("held (interrupted) after {} breakpoint hit{}\n", seen, seen == 1 ? "" : "s"));
    }
    return reply("continue", {{"held", true}, {"hits", seen}, {"event", event_json(*held_at_)}}, describe(*held_at_));
  }
  if (r.kind == K::kExited) {
    state_ = State::kExited;
    exit_ = tracer::TargetExit{r.exit_status, r.signal};
    (void)writer_->flush();
    std::string how = r.signal ? fmt::format("was killed by signal {}", r.signal)
                               : fmt::format("exited with status {}", r.exit_status);
    return reply("continue", {{"held", false}, {"exited", true}, {"exit_status", r.exit_status}, {"hits", seen}},
                 fmt::format("the program {} ({} breakpoint hit{} before)\n", how, seen, seen == 1 ? "" : "s"));
  }
  // exec, a failing trace or a lost target: nothing more can be held.
  (void)backend_.detach();
  state_ = State::kDetached;
  return reply_failure(fmt::format("the program can no longer be followed: {}", r.message), "record FILE saves what was seen");
}

ConsoleReply DebugConsole::cmd_where(const Args&) {
  if (state_ != State::kHeld) return ended_reply("show where it is held");
  if (!held_at_) {
    return reply("where", {{"event", nullptr}},
                 table_.events_applied() ? "held at no event (Ctrl-C, or before the first continue)\n"
                                         : "held before the program ran\n");
  }
  return reply("where", {{"event", event_json(*held_at_)}}, describe(*held_at_));
}

ConsoleReply DebugConsole::cmd_goroutines(const Args& a) {
  const bool all = !a.empty() && a[0] == "--all";
  if (a.size() > 1 || (!a.empty() && !all)) return usage_failure(fmt::format("unexpected argument '{}'", a.back()));
  std::vector<const replay::Goroutine*> gs;
  size_t hidden = 0;
  for (const auto& [goid, g] : table_.goroutines()) {
    if (g.state == replay::GoState::Dead) continue;
    if (!all && !g.placeholder && is_runtime(g)) {
      hidden++;
      continue;
    }
    gs.push_back(&g);
  }
  std::sort(gs.begin(), gs.end(), [](auto* x, auto* y) { return x->goid < y->goid; });
  const uint64_t now = now_ns();
  std::string text = fmt::format("{} goroutines{}\n", gs.size(), hidden ? fmt::format(" ({} of the runtime's hidden; --all shows them)", hidden) : "");
  auto list = nlohmann::json::array();
  for (const replay::Goroutine* g : gs) {
    std::string state(replay::go_state_name(g->state));
    if (g->state == replay::GoState::Waiting) state += " (" + binary_.layout().wait_reason(g->wait_reason) + ")";
    const uint64_t age = now > g->state_since_ns ? now - g->state_since_ns : 0;
    const SourceFrame site = g->placeholder ? SourceFrame{} : symbols_.creation_site(g->gopc);
    text += fmt::format("  {:>6}  {:<28} {:>9}  {}{}\n", g->goid, state, replay::format_duration(age),
                        g->placeholder ? "(created before gorepro saw it)" : replay::format_site(site),
                        g->placeholder ? "" : " " + site.function);
    list.push_back({{"goid", g->goid}, {"state", replay::go_state_name(g->state)},
                    {"wait_reason", g->state == replay::GoState::Waiting ? binary_.layout().wait_reason(g->wait_reason) : ""},
                    {"for_ns", age}, {"creation_site", replay::frame_to_json(site)}, {"parent", g->parent},
                    {"start_function", g->placeholder ? "" : symbols_.function_at(g->start_pc)}});
  }
  return reply("goroutines", {{"goroutines", list}, {"hidden_runtime", hidden}}, text);
}

ConsoleReply DebugConsole::cmd_goroutine(const Args& a) {
  auto goid = a.size() == 1 ? replay::parse_count(a[0]) : std::nullopt;
  if (!goid || *goid == 0) return usage_failure("goroutine needs one GOID", "goroutines lists them");
  const replay::Goroutine* g = table_.find(*goid);
  if (!g || g->state == replay::GoState::Dead) {
    return reply_failure(fmt::format("goroutine {} is not alive", *goid), "goroutines lists the live ones");
  }
  std::string state(replay::go_state_name(g->state));
  if (g->state == replay::GoState::Waiting) state += " (" + binary_.layout().wait_reason(g->wait_reason) + ")";
  const SourceFrame site = g->placeholder ? SourceFrame{} : symbols_.creation_site(g->gopc);
  const auto creation = symbols_.frames(stack(g->creation_stack), false);
  const bool waiting = g->state == replay::GoState::Waiting && g->block_stack;
  const auto blocked = waiting ? symbols_.frames(stack(g->block_stack), true) : std::vector<SourceFrame>{};
  std::string text = fmt::format("goroutine {}: {} for {}; parent goroutine {}\n", g->goid, state,
                                 replay::format_duration(now_ns() - std::min(now_ns(), g->state_since_ns)), g->parent);
  text += g->placeholder ? "  created before gorepro saw it\n"
                         : fmt::format("  created at {} ({}), starts {}\n{}", replay::format_site(site), site.function,
                                       symbols_.function_at(g->start_pc), indent(creation));
  text += waiting ? "  blocked at:\n" + indent(blocked) : "  (running or runnable: no stack saved by the probes)\n";
  return reply("goroutine",
               {{"goid", g->goid}, {"state", replay::go_state_name(g->state)}, {"parent", g->parent},
                {"creation_site", replay::frame_to_json(site)}, {"start_function", symbols_.function_at(g->start_pc)},
                {"creation_stack", frames_json(creation)}, {"block_stack", frames_json(blocked)},
                {"wait_reason", g->state == replay::GoState::Waiting ? binary_.layout().wait_reason(g->wait_reason) : ""}},
               text);
}

ConsoleReply DebugConsole::cmd_sites(const Args& a) {
  const bool all = !a.empty() && a[0] == "--all";
  if (a.size() > 1 || (!a.empty() && !all)) return usage_failure(fmt::format("unexpected argument '{}'", a.back()));
  replay::SiteCounts counts = replay::count_sites(table_, symbols_, all);
  std::string text = fmt::format("{:>8} {:>8}  go statement\n", "created", "alive");
  auto list = nlohmann::json::array();
  for (const auto& s : counts.sites) {
    text += fmt::format("{:>8} {:>8}  {} {}\n", s.created, s.alive, replay::format_site(s.site), s.site.function);
    list.push_back({{"creation_site", replay::frame_to_json(s.site)}, {"start_function", s.start_function},
                    {"created", s.created}, {"alive", s.alive}});
  }
  return reply("sites", {{"sites", list}, {"hidden_runtime", counts.hidden_runtime}}, text);
}

ConsoleReply DebugConsole::cmd_gdb(const Args& a, std::string_view rest) {
  if (a.empty()) return usage_failure("gdb needs a command", "e.g. gdb info threads");
  if (state_ != State::kHeld) return ended_reply("run a gdb command");
  auto out = live_.passthrough(rest);
  if (!out) return reply_failure(out.error().what, out.error().hint);
  std::string text = *out;
  if (!text.empty() && text.back() != '\n') text += '\n';
  return reply("gdb", {{"output", *out}}, text);
}

ConsoleReply DebugConsole::cmd_verdicts(const Args& a) {
  const bool all = !a.empty() && a[0] == "--all";
  if (a.size() > 1 || (!a.empty() && !all)) return usage_failure(fmt::format("unexpected argument '{}'", a.back()));
  if (state_ != State::kHeld) return ended_reply("scan its heap");
  auto v = live_.verdicts_now();
  if (!v) return reply_failure(v.error().what, v.error().hint);
  // Grouped as report groups them: verdict, state and wait reason, go statement.
  struct Group {
    replay::Verdict verdict;
    std::string state;
    SourceFrame site;
    std::string evidence;  // the lowest goid's
    std::vector<uint64_t> goids;
  };
  std::map<std::tuple<int, std::string, std::string>, Group> groups;
  size_t hidden = 0, counts[replay::kVerdictCount] = {};
  auto list = nlohmann::json::array();
  for (const replay::GoroutineVerdict& gv : v->goroutines) {
    const replay::Goroutine* g = table_.find(gv.goid);
    if (g && !all && !g->placeholder && is_runtime(*g)) {
      hidden++;
      continue;
    }
    counts[static_cast<int>(gv.verdict)]++;
    std::string state = g ? std::string(replay::go_state_name(g->state)) : "unknown";
    if (g && g->state == replay::GoState::Waiting) state += ": " + binary_.layout().wait_reason(g->wait_reason);
    const SourceFrame site = g && !g->placeholder ? symbols_.creation_site(g->gopc) : SourceFrame{};
    // Leaked first, then time/I/O, then may wake, then running.
    const int order = gv.verdict == replay::Verdict::kLeaked ? 0 : 5 - static_cast<int>(gv.verdict);
    auto [it, fresh] = groups.try_emplace({order, state, replay::format_site(site)},
                                          Group{gv.verdict, state, site, gv.evidence, {}});
    if (!fresh && gv.goid < *std::min_element(it->second.goids.begin(), it->second.goids.end())) {
      it->second.evidence = gv.evidence;
    }
    it->second.goids.push_back(gv.goid);
    list.push_back({{"goid", gv.goid}, {"verdict", replay::to_string(gv.verdict)}, {"verdict_evidence", gv.evidence},
                    {"objects", gv.objects}, {"creation_site", replay::frame_to_json(site)}});
  }
  using V = replay::Verdict;
  std::string text = fmt::format(
      "verdicts (heap scan now, {:.2f} s over {:.0f} MiB): {} leaked (can never wake), {} waiting on time/I/O, "
      "{} may still wake, {} running or runnable{}\n",
      static_cast<double>(v->scan_ns) / 1e9, static_cast<double>(v->bytes_scanned) / (1 << 20),
      counts[int(V::kLeaked)], counts[int(V::kTimeIo)], counts[int(V::kMayWake)],
      counts[int(V::kRunning)] + counts[int(V::kRunnable)],
      hidden ? fmt::format(" ({} of the runtime's hidden; --all shows them)", hidden) : "");
  for (auto& [key, g] : groups) {
    std::sort(g.goids.begin(), g.goids.end());
    text += fmt::format("  {} {}  {}  go statement {}  goroutines {}{}\n", g.goids.size(), replay::to_string(g.verdict),
                        g.state, g.site.function.empty() ? "(created before gorepro saw it)" : replay::format_frame(g.site),
                        fmt::join(g.goids, " "), g.evidence.empty() ? "" : "  — " + g.evidence);
  }
  return reply("verdicts",
               {{"goroutines", list}, {"leaked", counts[int(V::kLeaked)]}, {"time_io", counts[int(V::kTimeIo)]},
                {"may_wake", counts[int(V::kMayWake)]}, {"hidden_runtime", hidden}, {"scan_ns", v->scan_ns},
                {"bytes_scanned", v->bytes_scanned}},
               text);
}

ConsoleReply DebugConsole::cmd_record(const Args& a) {
  if (a.size() != 1) return usage_failure("record needs one FILE");
  if (Status st = writer_->copy_to(a[0]); !st) return reply_failure(st.error().what, st.error().hint);
  return reply("record", {{"file", a[0]}, {"events", writer_->events_written()}},
               fmt::format("{} events written to {}\n", writer_->events_written(), a[0]));
}

ConsoleReply DebugConsole::cmd_detach(const Args&) {
  if (state_ != State::kHeld) return ended_reply("detach");
  if (Status st = backend_.detach(); !st) return reply_failure(st.error().what, st.error().hint);
  state_ = State::kDetached;
  held_at_.reset();
  return reply("detach", {{"pid", backend_.pid()}},
               fmt::format("detached: the program (pid {}) runs on as if never traced\n", backend_.pid()));
}

ConsoleReply DebugConsole::cmd_kill(const Args&) {
  if (state_ != State::kHeld) return ended_reply("kill it");
  if (Status st = live_.kill(); !st) return reply_failure(st.error().what, st.error().hint);
  state_ = State::kExited;
  exit_ = backend_.target_exit();
  held_at_.reset();
  return reply("kill", {}, "killed\n");
}

ConsoleReply DebugConsole::cmd_help(const Args& a) {
  auto out = replay::console_help(commands(), a);
  if (!out) return usage_failure(out.error().what, out.error().hint);
  return reply("help", {{"text", *out}}, *out);
}

}  // namespace gorepro::debug
