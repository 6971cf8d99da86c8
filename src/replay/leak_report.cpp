#include "replay/leak_report.h"

#include <algorithm>
#include <map>
#include <regex>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "replay/duration.h"
#include "replay/frame_json.h"
#include "replay/trace_facts.h"
#include "util/markup.h"

namespace gorepro::replay {
namespace {

std::string site_key(const SourceFrame& f) { return fmt::format("{}\x1f{}\x1f{}", f.function, f.file, f.line); }

// Parsed --ignore-site / --ignore-func rules, with per-stack memo: a few hundred distinct stacks
// stand for hundreds of thousands of goroutines, and regex matching is slow.
class IgnoreRules {
 public:
  static Result<IgnoreRules> parse(const ReportOptions& o) {
    IgnoreRules r;
    for (const auto& s : o.ignore_sites) {
      auto colon = s.rfind(':');
      int line = 0;
      if (colon == std::string::npos || colon == 0 ||
          std::sscanf(s.c_str() + colon + 1, "%d", &line) != 1 || line <= 0)
        return make_error(fmt::format("bad --ignore-site '{}'", s), "write it as FILE:LINE, e.g. main.go:21");
      r.sites_.push_back({s.substr(0, colon), line});
    }
    for (const auto& f : o.ignore_funcs) {
      try {
        r.funcs_.emplace_back(f, std::regex::ECMAScript | std::regex::optimize);
      } catch (const std::regex_error& e) {
        return make_error(fmt::format("bad --ignore-func regex '{}': {}", f, e.what()),
                          "use an ECMAScript regular expression, e.g. 'net/http\\..*'");
      }
    }
    return r;
  }

  bool empty() const { return sites_.empty() && funcs_.empty(); }

  bool site_ignored(const SourceFrame& site) const {
    for (const auto& [file, line] : sites_)
      if (site.line == line && site.file.ends_with(file)) return true;
    return false;
  }
  bool function_ignored(const std::string& name) const {
    auto [it, inserted] = by_function_.try_emplace(name, false);
    if (inserted)
      it->second = std::any_of(funcs_.begin(), funcs_.end(), [&](const std::regex& re) { return std::regex_search(name, re); });
    return it->second;
  }
  bool stack_ignored(const TraceReader& reader, const TraceSymbols& symbols, StackId id, bool first_exact) const {
    if (funcs_.empty() || id == 0) return false;
    auto& memo = first_exact ? block_memo_ : creation_memo_;
    auto [it, inserted] = memo.try_emplace(id, false);
    if (inserted) {
      for (const auto& f : symbols.frames(reader.stack(id), first_exact))
        if (function_ignored(f.function)) it->second = true;
    }
    return it->second;
  }

 private:
  std::vector<std::pair<std::string, int>> sites_;
  std::vector<std::regex> funcs_;
  mutable std::unordered_map<std::string, bool> by_function_;
  mutable std::unordered_map<StackId, bool> creation_memo_, block_memo_;
};

nlohmann::json labels_to_json(const Labels& labels) {
  nlohmann::json j = nlohmann::json::object();
  for (const Label& l : labels) j[l.key] = l.value;
  return j;
}

struct GroupBuilder {
  LeakGroup group;
  std::vector<uint64_t> ages;
  std::vector<uint64_t> goids;
  const Goroutine* representative = nullptr;
  std::map<uint32_t, uint64_t> label_sets;  // label set id -> goroutines
  std::map<std::string, std::pair<SourceFrame, uint64_t>> sites;  // by label: go statement -> goroutines
  std::map<uint64_t, uint64_t> objects;  // park object -> waiting goroutines
};

// "the same object 0x… (all 37)", or "3 objects: 0x…×2, 0x…×2, 0x…×1" (the first 4).
std::string format_blocked_on(const LeakGroup& g) {
  uint64_t waiting = 0;
  for (const auto& [object, n] : g.blocked_on) waiting += n;
  if (g.blocked_on.size() == 1) {
    return fmt::format("the same object {:#x} ({}{})", g.blocked_on[0].first, waiting == g.alive ? "all " : "",
                       waiting);
  }
  std::vector<std::string> parts;
  for (size_t i = 0; i < g.blocked_on.size() && i < 4; i++)
    parts.push_back(fmt::format("{:#x}×{}", g.blocked_on[i].first, g.blocked_on[i].second));
  return fmt::format("{} objects: {}{}", g.blocked_on.size(), fmt::join(parts, ", "),
                     g.blocked_on.size() > 4 ? ", …" : "");
}

nlohmann::json blocked_on_to_json(const std::vector<std::pair<uint64_t, uint64_t>>& objects) {
  auto out = nlohmann::json::array();
  for (const auto& [object, n] : objects) out.push_back({{"object", fmt::format("{:#x}", object)}, {"goroutines", n}});
  return out;
}

}  // namespace

uint64_t LeakReport::alive() const {
  uint64_t n = 0;
  for (const auto& g : groups) n += g.alive;
  return n;
}

uint64_t LeakReport::alive_with(Verdict v) const {
  uint64_t n = 0;
  for (const auto& g : groups) n += g.verdict == v ? g.alive : 0;
  return n;
}

uint64_t LeakReport::never_woken() const {
  uint64_t n = 0;
  for (const auto& g : groups) n += g.never_woken;
  return n;
}

uint64_t LeakReport::leaked() const { return has_verdicts ? alive_with(Verdict::kLeaked) : alive(); }

Result<LeakReport> build_report(const TraceReader& reader, const GoroutineTable& table,
                                const TraceSymbols& symbols, const ReportOptions& options, uint64_t now_ns) {
  auto rules = IgnoreRules::parse(options);
  if (!rules) return rules.error();
  const TraceHeader& h = reader.header();
  const uint64_t start = reader.start_time_ns();
  LeakReport report;
  report.binary = h.binary_path;
  report.go_version = h.go_version;
  report.backend = h.backend;
  report.events = reader.event_count();
  report.duration_ns = reader.last_time_ns() > start ? reader.last_time_ns() - start : 0;
  report.at_events = table.events_applied();
  report.at_ns = now_ns > start ? now_ns - start : 0;
  report.symbolic = symbols.symbolic();
  const LossSummary& losses = reader.losses();
  report.lost_events = losses.count;
  report.lost_unattributed = losses.unattributed;
  report.incomplete_goids.assign(losses.goids.begin(), losses.goids.end());
  report.label_filters = options.label_filters;
  report.group_by_label = options.group_by_label;
  const SnapshotSummary& snaps = reader.snapshots();
  report.snapshots = snaps.count;
  report.snapshot_interval_ns = snaps.interval_ns;
  for (uint64_t t : snaps.times) {
    if (t <= now_ns) report.snapshot_at_ns = t > start ? t - start : 0;
  }
  if (const auto& w = reader.window()) {
    report.window = true;
    report.window_start_ns = w->time_ns > start ? w->time_ns - start : 0;
    report.window_dropped_events = w->dropped_events;
  }

  // The verdicts describe the end of the recording only.
  std::unordered_map<uint64_t, const GoroutineVerdict*> verdicts;
  if (reader.verdicts() && table.events_applied() >= reader.event_count()) {
    report.has_verdicts = true;
    report.verdict_scan_ns = reader.verdicts()->scan_ns;
    report.verdict_bytes = reader.verdicts()->bytes_scanned;
    for (const GoroutineVerdict& v : reader.verdicts()->goroutines) verdicts[v.goid] = &v;
  }

  // The history's signal needs every event up to the report's instant: one more pass over them.
  report.has_history_signal = snaps.count == 0;
  std::vector<TraceFacts::NeverWoken> never_woken;
  std::unordered_map<uint64_t, const TraceFacts::NeverWoken*> never_woken_of;  // goid → its place
  if (report.has_history_signal) {
    never_woken = TraceFacts(reader, symbols, table.events_applied()).never_woken();
    for (const auto& w : never_woken)
      for (uint64_t goid : w.goids) never_woken_of[goid] = &w;
  }

  std::map<std::string, GroupBuilder> groups;
  for (const auto& [goid, g] : table.goroutines()) {
    if (g.state == GoState::Dead) continue;
    const GoroutineVerdict* verdict = nullptr;
    if (auto v = verdicts.find(goid); v != verdicts.end()) verdict = v->second;
    if (options.only_verdict && report.has_verdicts && (!verdict || verdict->verdict != *options.only_verdict)) {
      ++report.ignored;
      continue;
    }
    SourceFrame site = symbols.creation_site(g.gopc);
    std::string start_fn = symbols.function_at(g.start_pc);
    if (!options.include_runtime && symbols.is_runtime_goroutine(site, start_fn)) {
      ++report.hidden_runtime;
      continue;
    }
    uint64_t age = now_ns > g.state_since_ns ? now_ns - g.state_since_ns : 0;
    if (age < options.min_age_ns) {
      ++report.hidden_young;
      continue;
    }
    if (!rules->empty() &&
        (rules->site_ignored(site) || rules->function_ignored(site.function) || rules->function_ignored(start_fn) ||
         rules->stack_ignored(reader, symbols, g.creation_stack, false) ||
         rules->stack_ignored(reader, symbols, g.block_stack, true))) {
      ++report.ignored;
      continue;
    }
    const Labels& labels = reader.labels(g.labels);
    if (!std::all_of(options.label_filters.begin(), options.label_filters.end(),
                     [&](const LabelFilter& f) { return f.matches(labels); })) {
      ++report.unlabeled;
      continue;
    }
    bool waiting = g.state == GoState::Waiting;
    SourceFrame block = waiting ? symbols.block_site(reader.stack(g.block_stack)) : SourceFrame{};
    std::string reason = waiting ? h.wait_reason_name(g.wait_reason) : "";
    const bool by_label = !options.group_by_label.empty();
    const std::string* value = by_label ? label_value(labels, options.group_by_label) : nullptr;
    std::string key = by_label ? (value ? "=" + *value : std::string("\x1e"))
                               : fmt::format("{}\x1e{}\x1e{}\x1e{}\x1e{}\x1e{}", site_key(site), start_fn,
                                             static_cast<int>(g.state), reason, site_key(block),
                                             verdict ? static_cast<int>(verdict->verdict) : -1);
    auto [it, inserted] = groups.try_emplace(key);
    GroupBuilder& b = it->second;
    const bool lowest = !b.representative || goid < b.representative->goid;
    if (!inserted && by_label &&
        (b.group.state != g.state || b.group.wait_reason != reason || site_key(b.group.block_site) != site_key(block)))
      b.group.mixed = true;
    if (inserted || (by_label && lowest)) {
      b.group.creation_site = site;
      b.group.start_function = start_fn;
      b.group.state = g.state;
      b.group.wait_reason = reason;
      b.group.block_site = block;
      if (verdict) b.group.verdict = verdict->verdict;
    }
    if (verdict) b.group.members.push_back(*verdict);
    if (auto w = never_woken_of.find(goid); w != never_woken_of.end()) {
      if (!b.group.never_woken++) {
        const TraceFacts::NeverWoken& p = *w->second;
        b.group.never_woken_evidence = fmt::format(
            "{} blocked here, none of them woken since it parked here; the go statement's alive goroutines rose {} → {} from {} to "
            "{} into the recording", p.goids.size(), p.alive_from, p.alive_to, format_duration(p.from_ns),
            format_duration(p.to_ns));
      }
    }
    if (by_label) {
      b.group.by_label = true;
      if (value) b.group.label_value = *value;
      auto& s = b.sites.try_emplace(site_key(site) + "\x1e" + start_fn, site, 0).first->second;
      ++s.second;
    }
    if (g.labels && !labels.empty()) ++b.label_sets[g.labels];
    if (waiting && g.blocking_object) ++b.objects[g.blocking_object];
    ++b.group.alive;
    if (g.preexisting) ++b.group.preexisting;
    if (losses.goids.count(goid)) ++b.group.incomplete;
    b.ages.push_back(age);
    b.goids.push_back(goid);
    if (lowest) b.representative = &g;
  }

  // Creation counts by symbolized site: several PCs can be one go statement.
  std::unordered_map<std::string, uint64_t> created;
  if (!groups.empty())
    for (const auto& [k, n] : table.created_by_site())
      created[site_key(symbols.creation_site(k.gopc)) + "\x1e" + symbols.function_at(k.start_pc)] += n;

  for (auto& [key, b] : groups) {
    LeakGroup& g = b.group;
    g.created = std::max(created[site_key(g.creation_site) + "\x1e" + g.start_function], g.alive);
    std::sort(b.ages.begin(), b.ages.end());
    g.age = {b.ages.front(), b.ages[b.ages.size() / 2], b.ages.back()};
    std::sort(b.goids.begin(), b.goids.end());
    if (b.goids.size() > options.max_ids) b.goids.resize(options.max_ids);
    g.goids = std::move(b.goids);
    g.creation_stack = symbols.frames(reader.stack(b.representative->creation_stack), false);
    if (g.state == GoState::Waiting) g.block_stack = symbols.frames(reader.stack(b.representative->block_stack), true);
    std::sort(g.members.begin(), g.members.end(), [](auto& x, auto& y) { return x.goid < y.goid; });
    if (!g.members.empty()) {
      g.verdict_evidence = g.members.front().evidence;
      g.objects = g.members.front().objects;
    }
    for (const auto& [id, n] : b.label_sets) g.labels.emplace_back(reader.labels(id), n);
    g.blocked_on.assign(b.objects.begin(), b.objects.end());
    std::stable_sort(g.blocked_on.begin(), g.blocked_on.end(), [](const auto& x, const auto& y) { return x.second > y.second; });
    std::stable_sort(g.labels.begin(), g.labels.end(), [](const auto& x, const auto& y) { return x.second > y.second; });
    for (auto& [k, s] : b.sites) g.sites.push_back(std::move(s));
    std::stable_sort(g.sites.begin(), g.sites.end(), [](const auto& x, const auto& y) { return x.second > y.second; });
    if (g.by_label) g.created = 0;  // counted per go statement only
    report.groups.push_back(std::move(g));
  }
  // Leaked first, then growing and never woken, waits on time/I/O, may-wake, the others; by size
  // within each.
  auto rank = [](const LeakGroup& g) {
    if (g.verdict == Verdict::kLeaked) return 0;
    if (g.never_woken) return 1;
    if (!g.verdict) return 5;
    switch (*g.verdict) {
      case Verdict::kTimeIo: return 2;
      case Verdict::kMayWake: return 3;
      default: return 4;
    }
  };
  std::stable_sort(report.groups.begin(), report.groups.end(), [&](const LeakGroup& a, const LeakGroup& b) {
    return rank(a) != rank(b) ? rank(a) < rank(b) : a.alive > b.alive;
  });
  return report;
}

std::string format_report_text(const LeakReport& r) {
  std::string out = fmt::format("trace: {} ({}, {} backend): {} events over {}", r.binary, r.go_version, r.backend,
                                r.events, format_duration(r.duration_ns));
  if (r.at_events != r.events)
    out += fmt::format("; as of event {} ({} in)", r.at_events ? r.at_events - 1 : 0, format_duration(r.at_ns));
  out += fmt::format("\n{} goroutine{} alive in {} group{}", r.alive(), r.alive() == 1 ? "" : "s", r.groups.size(),
                     r.groups.size() == 1 ? "" : "s");
  std::vector<std::string> hidden;
  if (r.hidden_runtime) hidden.push_back(fmt::format("{} runtime (--all shows them)", r.hidden_runtime));
  if (r.hidden_young) hidden.push_back(fmt::format("{} younger than --min-age", r.hidden_young));
  if (r.ignored) hidden.push_back(fmt::format("{} ignored", r.ignored));
  if (!r.label_filters.empty()) {
    std::vector<std::string> want;
    for (const LabelFilter& f : r.label_filters) want.push_back(f.key + "=" + f.value);
    hidden.push_back(fmt::format("{} without label{} {}", r.unlabeled, want.size() == 1 ? "" : "s", fmt::join(want, ", ")));
  }
  if (!hidden.empty()) out += fmt::format("; hidden: {}", fmt::join(hidden, ", "));
  out += "\n";
  if (r.snapshots) {
    out += fmt::format("sampled: {} goroutine snapshots every {} (record --snapshot); this is the one {} in. Goroutines "
                       "that came and went between two snapshots, and the parks and wakes between them, are not in "
                       "the trace\n", r.snapshots, format_duration(r.snapshot_interval_ns),
                       format_duration(r.snapshot_at_ns));
  }
  if (r.window) {
    out += fmt::format("flight-recorder window (record --ring): the recording's last part, from {} in; {} earlier "
                       "events were left out, and the goroutines alive at the window's start count as preexisting "
                       "(created before it)\n", format_duration(r.window_start_ns), r.window_dropped_events);
  }
  if (r.lost_events) {
    constexpr size_t kListed = 20;
    const size_t n = r.incomplete_goids.size();
    std::vector<uint64_t> listed(r.incomplete_goids.begin(), r.incomplete_goids.begin() + std::min(n, kListed));
    out += fmt::format("warning: {} events were lost while recording (the ring buffer was full)", r.lost_events);
    if (n) {
      out += fmt::format("; {} goroutine{} ha{} an incomplete history: {}{}", n, n == 1 ? "" : "s", n == 1 ? "s" : "ve",
                         fmt::join(listed, " "), n > kListed ? fmt::format(" (+{} more)", n - kListed) : "");
    }
    if (r.lost_unattributed) out += fmt::format("; {} of the lost events name no goroutine", r.lost_unattributed);
    out += "\n";
  }

  if (r.has_verdicts) {
    out += fmt::format("verdicts (heap scan at the end of the recording, {:.2f} s over {:.0f} MiB): {} leaked (can never "
                       "wake), {} waiting on time/I/O, {} may still wake, {} running or runnable\n",
                       static_cast<double>(r.verdict_scan_ns) / 1e9, static_cast<double>(r.verdict_bytes) / (1 << 20),
                       r.alive_with(Verdict::kLeaked), r.alive_with(Verdict::kTimeIo), r.alive_with(Verdict::kMayWake),
                       r.alive_with(Verdict::kRunning) + r.alive_with(Verdict::kRunnable));
  }
  if (r.never_woken()) {
    size_t n = 0;
    for (const auto& g : r.groups) n += g.never_woken ? 1 : 0;
    out += fmt::format("history: {} goroutine{} in {} group{} growing and never woken (blocked where their go statement "
                       "keeps adding more, none of them ever woken; docs/verdicts.md)\n",
                       r.never_woken(), r.never_woken() == 1 ? "" : "s", n, n == 1 ? "" : "s");
  }
  bool folded_header = false;
  for (const auto& g : r.groups) {
    std::string state(go_state_name(g.state));
    if (!g.wait_reason.empty()) state += ": " + g.wait_reason;
    if (g.by_label) {
      const std::string label = g.label_value ? r.group_by_label + "=" + *g.label_value : "(no " + r.group_by_label + ")";
      out += fmt::format("\n{} alive  {}  {}{}  for {} (min {}, max {})\n", g.alive, label, g.mixed ? "mostly " : "",
                         state, format_duration(g.age.median), format_duration(g.age.min), format_duration(g.age.max));
      for (const auto& [site, n] : g.sites) out += fmt::format("  go statement:  {} ({})\n", format_frame(site), n);
      out += fmt::format("  goroutines:    {}{}\n", fmt::join(g.goids, " "),
                         g.alive > g.goids.size() ? fmt::format(" (+{} more)", g.alive - g.goids.size()) : "");
      if (!g.block_stack.empty()) {
        out += "  block stack (lowest goroutine):\n";
        for (const auto& f : g.block_stack) out += "    " + format_frame(f) + "\n";
      }
      continue;
    }
    if (g.verdict && *g.verdict != Verdict::kLeaked && !g.never_woken) {
      // Folded: one line per group that is not a leak.
      if (!folded_header) out += "\nnot leaked (one line per group):\n";
      folded_header = true;
      out += fmt::format("  {} {}  {}  go statement {}  start {}{}{}\n", g.alive, to_string(*g.verdict), state,
                         format_frame(g.creation_site), g.start_function,
                         g.block_site.function.empty() ? "" : "  blocked at " + format_frame(g.block_site),
                         g.verdict_evidence.empty() ? "" : "  — " + g.verdict_evidence);
      continue;
    }
    out += fmt::format("\n{}{} alive / {} created{}{}  {}  for {} (min {}, max {})\n",
                       g.verdict == Verdict::kLeaked ? "LEAKED: " : g.never_woken ? "GROWING, NEVER WOKEN: " : "",
                       g.alive, g.created,
                       g.preexisting ? fmt::format(" ({} preexisting)", g.preexisting) : "",
                       g.incomplete ? fmt::format(" ({} with incomplete histories)", g.incomplete) : "", state,
                       format_duration(g.age.median), format_duration(g.age.min), format_duration(g.age.max));
    out += fmt::format("  go statement:  {}\n", format_frame(g.creation_site));
    out += fmt::format("  start:         {}\n", g.start_function);
    if (!g.block_site.function.empty()) out += fmt::format("  blocked at:    {}\n", format_frame(g.block_site));
    if (g.verdict) out += fmt::format("  verdict:       {} — {}\n", to_string(*g.verdict), g.verdict_evidence);
    if (!g.blocked_on.empty()) out += "  blocked on:    " + format_blocked_on(g) + "\n";
    if (g.never_woken)
      out += fmt::format("  history:       growing and never woken ({} of {}) — {}\n", g.never_woken, g.alive,
                         g.never_woken_evidence);
    out += fmt::format("  goroutines:    {}{}\n", fmt::join(g.goids, " "),
                       g.alive > g.goids.size() ? fmt::format(" (+{} more)", g.alive - g.goids.size()) : "");
    if (!g.labels.empty()) {
      std::vector<std::string> sets;
      for (const auto& [labels, n] : g.labels) sets.push_back(fmt::format("{} ({})", format_labels(labels), n));
      out += fmt::format("  pprof labels:  {}\n", fmt::join(sets, "; "));
    }
    if (!g.creation_stack.empty()) {
      out += "  creation stack:\n";
      for (const auto& f : g.creation_stack) out += "    " + format_frame(f) + "\n";
    }
    if (!g.block_stack.empty()) {
      out += "  block stack:\n";
      for (const auto& f : g.block_stack) out += "    " + format_frame(f) + "\n";
    }
  }
  return out;
}

nlohmann::json report_to_json(const LeakReport& r) {
  auto groups = nlohmann::json::array();
  for (const auto& g : r.groups) {
    nlohmann::json j = {
        {"creation_site", frame_to_json(g.creation_site)},
        {"start_function", g.start_function},
        {"state", go_state_name(g.state)},
        {"wait_reason", g.wait_reason},
        {"block_site", g.block_site.function.empty() ? nlohmann::json(nullptr) : frame_to_json(g.block_site)},
        {"created", g.created},
        {"alive", g.alive},
        {"preexisting", g.preexisting},
        {"incomplete", g.incomplete},
        {"blocked_ns", {{"min", g.age.min}, {"median", g.age.median}, {"max", g.age.max}}},
        {"goids", g.goids},
        {"blocked_on", blocked_on_to_json(g.blocked_on)},
        {"creation_stack", frames_to_json(g.creation_stack)},
        {"block_stack", frames_to_json(g.block_stack)},
    };
    if (r.has_verdicts) {
      j["verdict"] = g.verdict ? nlohmann::json(to_string(*g.verdict)) : nlohmann::json(nullptr);
      j["verdict_evidence"] = g.verdict_evidence;
      auto members = nlohmann::json::array();
      for (const GoroutineVerdict& m : g.members) {
        members.push_back({{"goid", m.goid}, {"verdict", to_string(m.verdict)}, {"verdict_evidence", m.evidence},
                           {"objects", m.objects}});
      }
      j["goroutines"] = std::move(members);
    }
    if (r.has_history_signal) {
      j["never_woken"] = g.never_woken;
      j["never_woken_evidence"] = g.never_woken_evidence;
    }
    auto sets = nlohmann::json::array();
    for (const auto& [labels, n] : g.labels) sets.push_back({{"labels", labels_to_json(labels)}, {"count", n}});
    j["labels"] = std::move(sets);
    if (g.by_label) {
      j["label"] = {{"key", r.group_by_label},
                    {"value", g.label_value ? nlohmann::json(*g.label_value) : nlohmann::json(nullptr)}};
      j["mixed"] = g.mixed;
      auto sites = nlohmann::json::array();
      for (const auto& [site, n] : g.sites) sites.push_back({{"creation_site", frame_to_json(site)}, {"alive", n}});
      j["sites"] = std::move(sites);
    }
    groups.push_back(std::move(j));
  }
  return {{"trace",
           {{"binary", r.binary},
            {"go_version", r.go_version},
            {"backend", r.backend},
            {"events", r.events},
            {"duration_ns", r.duration_ns},
            {"at_events", r.at_events},
            {"at_ns", r.at_ns},
            {"symbolized", r.symbolic},
            {"sampled", r.snapshots ? nlohmann::json{{"snapshots", r.snapshots},
                                                     {"interval_ns", r.snapshot_interval_ns},
                                                     {"at_snapshot_ns", r.snapshot_at_ns}}
                                    : nlohmann::json(nullptr)},
            {"window", r.window ? nlohmann::json{{"start_ns", r.window_start_ns},
                                                 {"dropped_events", r.window_dropped_events}}
                                : nlohmann::json(nullptr)}}},
          {"hidden",
           {{"runtime", r.hidden_runtime},
            {"younger_than_min_age", r.hidden_young},
            {"ignored", r.ignored},
            {"without_labels_asked_for", r.unlabeled}}},
          {"group_by", r.group_by_label.empty() ? "site" : "label:" + r.group_by_label},
          {"lost",
           {{"events", r.lost_events}, {"unattributed", r.lost_unattributed}, {"incomplete_goroutines", r.incomplete_goids}}},
          {"verdicts", r.has_verdicts ? nlohmann::json{{"leaked", r.alive_with(Verdict::kLeaked)},
                                                       {"time_io", r.alive_with(Verdict::kTimeIo)},
                                                       {"may_wake", r.alive_with(Verdict::kMayWake)},
                                                       {"scan_ns", r.verdict_scan_ns},
                                                       {"bytes_scanned", r.verdict_bytes}}
                                      : nlohmann::json(nullptr)},
          {"never_woken", r.has_history_signal ? nlohmann::json(r.never_woken()) : nlohmann::json(nullptr)},
          {"groups", groups}};
}

std::string format_junit(const LeakReport& r, uint64_t max_leaked) {
  const bool failed = r.leaked() > max_leaked;
  std::string cases;
  for (const auto& g : r.groups) {
    std::string name = fmt::format("{} {} ({})", format_site(g.creation_site), g.start_function,
                                   g.wait_reason.empty() ? go_state_name(g.state) : std::string_view(g.wait_reason));
    cases += fmt::format("    <testcase classname=\"gorepro.leaks\" name=\"{}\">\n", xml_escape(name));
    if (failed)
      cases += fmt::format("      <failure message=\"{} goroutines leaked\">{}</failure>\n", g.alive,
                           xml_escape(fmt::format("{} alive of {} created; blocked for {}", g.alive, g.created,
                                                  format_duration(g.age.median))));
    cases += "    </testcase>\n";
  }
  if (r.groups.empty()) cases = "    <testcase classname=\"gorepro.leaks\" name=\"no leaked goroutines\"/>\n";
  size_t failures = failed ? r.groups.size() : 0;
  return fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<testsuites>\n  <testsuite name=\"gorepro check\" tests=\"{}\" failures=\"{}\">\n{}  </testsuite>\n</testsuites>\n",
      std::max<size_t>(r.groups.size(), 1), failures, cases);
}

}  // namespace gorepro::replay
