#include "replay/correlate.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "replay/byte_codec.h"
#include "replay/growth.h"

namespace gorepro::replay {

namespace {

constexpr uint64_t kMs = 1'000'000;

struct RawSample {
  uint64_t seq = 0;
  uint64_t first_ns = 0, last_ns = 0;
  SchedSample s;
  uint64_t begin_ns = 0, end_ns = 0;  // the dump as the tracer saw it (0: not probed)
  std::vector<std::pair<uint64_t, uint64_t>> reads;  // (goid, position) of each G line's read
};

// What a goroutine is, in the classes both sides can observe (see correlate.h). Active is
// runnable, running and syscall together, for traces recorded without the state probes.
// GcPause: the runtime marks a running goroutine waiting, without parking it, while it does GC
// work (assist, mark worker, its own stack scan, stopping the world): no event says so. Such a
// goroutine keeps its M (the G line's m=), which a parked one never does.
enum class Class { Absent, Runnable, Running, Syscall, Active, Waiting, GcPause, Unknown };

// Wait reasons the runtime sets without gopark (casGToWaiting and friends in proc.go, mgc.go,
// mgcmark.go, preempt.go, trace.go, heapdump.go, debugcall.go of Go 1.19-1.23).
bool is_gc_pause_reason(std::string_view reason) {
  static const std::string_view reasons[] = {
      "GC assist marking", "garbage collection", "garbage collection scan", "GC worker (active)",
      "stopping the world", "trace goroutine status", "preempted", "dumping heap", "debug call"};
  return std::find(std::begin(reasons), std::end(reasons), reason) != std::end(reasons);
}

Class runtime_class_of(const SchedG* g, bool four) {
  if (!g) return Class::Absent;
  switch (g->runtime_class()) {
    case RuntimeClass::Idle:
    case RuntimeClass::Dead: return Class::Absent;
    case RuntimeClass::Runnable: return four ? Class::Runnable : Class::Active;
    case RuntimeClass::Running: return four ? Class::Running : Class::Active;
    case RuntimeClass::Syscall: return four ? Class::Syscall : Class::Active;
    // Parked goroutines are on no M (park_m drops them); one the dump shows waiting while an M
    // runs it is in a pause without a park — Go 1.19 does not even set a reason for those.
    case RuntimeClass::Waiting: return g->m >= 0 || is_gc_pause_reason(g->wait_reason) ? Class::GcPause : Class::Waiting;
    case RuntimeClass::Other: return Class::Unknown;
  }
  return Class::Unknown;
}

Class gorepro_class_of(const Goroutine* g, bool four) {
  if (!g) return Class::Absent;
  switch (g->state) {
    case GoState::Dead: return Class::Absent;
    case GoState::Runnable: return four ? Class::Runnable : Class::Active;
    case GoState::Running: return four ? Class::Running : Class::Active;
    case GoState::Syscall: return four ? Class::Syscall : Class::Active;
    case GoState::Waiting: return Class::Waiting;
    case GoState::Unknown: return Class::Unknown;
  }
  return Class::Unknown;
}

// The G-line read positions of a sched event (trace format, sched field 6).
std::vector<std::pair<uint64_t, uint64_t>> decode_reads(std::string_view packed, uint64_t sched_seq) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  ByteSource src(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(packed.data()), packed.size()));
  uint64_t goid, back;
  while (!src.empty() && src.varint(goid) && src.varint(back) && back <= sched_seq) out.emplace_back(goid, sched_seq - back);
  return out;
}

std::string runtime_view(const SchedG* g) {
  if (!g || runtime_class_of(g, false) == Class::Absent) return g ? fmt::format("absent ({})", runtime_class_name(g->runtime_class())) : "absent";
  if (g->runtime_class() == RuntimeClass::Waiting) return fmt::format("waiting ({})", g->wait_reason);
  return std::string(runtime_class_name(g->runtime_class()));
}

std::string gorepro_view(const Goroutine* g, const TraceHeader& h) {
  if (!g) return "absent";
  if (g->state == GoState::Waiting) return fmt::format("waiting ({})", h.wait_reason_name(g->wait_reason));
  return std::string(go_state_name(g->state));
}

std::string site_name(const TraceSymbols& sym, uint64_t gopc) {
  SourceFrame f = sym.creation_site(gopc);
  if (f.file.empty()) return fmt::format("{:#x}", gopc);
  return fmt::format("{}:{} ({})", std::filesystem::path(f.file).filename().string(), f.line, f.function);
}

// Live goroutines per creation PC in a table.
std::unordered_map<uint64_t, int64_t> live_by_site(const GoroutineTable& t) {
  std::unordered_map<uint64_t, int64_t> out;
  for (const auto& [goid, g] : t.goroutines()) {
    if (g.state != GoState::Dead) out[g.gopc]++;
  }
  return out;
}

// The trace time of a log's 0 ms at which the log's goroutines best match the trace's: for
// each candidate offset, how many goids are alive in one view and not the other, summed over
// the samples that fall inside the trace (goids come and go at exact moments, so the match is
// sharp where counts alone would be ambiguous).
std::optional<int64_t> fit_log_offset(const TraceReader& r, const std::vector<RawSample>& raw, bool launched) {
  if (raw.empty() || !raw[0].s.detailed) return std::nullopt;
  std::unordered_map<uint64_t, std::pair<uint64_t, uint64_t>> alive;  // goid -> [created, exited)
  uint64_t first = 0, last = 0;
  auto c = r.cursor();
  for (Event e; c.next(e);) {
    if (!first) first = e.time_ns;
    last = e.time_ns;
    if (e.kind == EventKind::Create || e.kind == EventKind::Preexisting) alive[e.goid] = {e.time_ns, UINT64_MAX};
    else if (e.kind == EventKind::Exit && alive.count(e.goid)) alive[e.goid].second = e.time_ns;
  }
  if (alive.empty()) return std::nullopt;
  const int64_t f = static_cast<int64_t>(first), l = static_cast<int64_t>(last);
  const int64_t max_ms = static_cast<int64_t>(raw.back().s.header.ms);
  int64_t lo = f - max_ms * static_cast<int64_t>(kMs), hi = l;
  // A program gorepro launched starts its schedtrace clock (sysmon's first round) within
  // moments of the trace's first event.
  if (launched) lo = f - 10 * static_cast<int64_t>(kMs), hi = f + 100 * static_cast<int64_t>(kMs);
  int64_t step = std::max<int64_t>(static_cast<int64_t>(kMs) / 4, (hi - lo) / 4000);
  std::optional<int64_t> best;
  double best_score = 0;
  for (int64_t off = lo; off <= hi; off += step) {
    double score = 0;
    size_t inside = 0;
    for (const RawSample& s : raw) {
      int64_t t = off + static_cast<int64_t>(s.s.header.ms) * static_cast<int64_t>(kMs);
      if (t < f || t > l) continue;
      inside++;
      const auto ut = static_cast<uint64_t>(t);
      size_t both = 0, rt_live = 0;
      for (const SchedG& g : s.s.gs) {
        RuntimeClass rc = g.runtime_class();
        if (rc == RuntimeClass::Dead || rc == RuntimeClass::Idle) continue;
        rt_live++;
        auto it = alive.find(g.goid);
        both += it != alive.end() && it->second.first <= ut && ut < it->second.second;
      }
      size_t gr_live = 0;
      for (const auto& [goid, span] : alive) gr_live += span.first <= ut && ut < span.second;
      score += static_cast<double>(rt_live - both + gr_live - both);
    }
    if (inside * 2 < raw.size()) continue;
    score /= static_cast<double>(inside);
    if (!best || score < best_score) best = off, best_score = score;
  }
  return best;
}

}  // namespace

Result<Correlation> correlate(TraceSession& session, const CorrelateOptions& o) {
  const TraceReader& r = session.reader();
  const TraceHeader& h = r.header();
  Correlation out;
  out.clock_base_ns = h.clock.monotonic_ns;

  // 1. The samples, each with the window in which the runtime read what it printed.
  std::vector<RawSample> raw;
  if (o.log) {
    for (const SchedSample& s : o.log->samples) raw.push_back({0, 0, 0, s, 0, 0, {}});
    out.samples_unparsed = o.log->skipped;
    std::optional<int64_t> off;
    if (o.log_offset_ns) {
      off = static_cast<int64_t>(h.clock.monotonic_ns) + *o.log_offset_ns;
    } else {
      off = fit_log_offset(r, raw, h.pid == 0);
      if (!off) {
        return make_error("cannot align the schedtrace log with the trace",
                          "give --log-offset (the trace time of the log's 0 ms), or capture the log with scheddetail=1");
      }
      out.notes.push_back(fmt::format(
          "the log carries no arrival times: its 0 ms was placed at {:.1f} ms into the trace, where its live "
          "goroutines best match the trace's (0.25 ms grid; give --log-offset to set it)",
          static_cast<double>(*off - static_cast<int64_t>(h.clock.monotonic_ns)) / 1e6));
    }
    out.clock_offset_ns = *off;
    out.from_log = true;
    for (RawSample& s : raw) {
      int64_t t = *off + static_cast<int64_t>(s.s.header.ms * kMs);
      s.first_ns = t < 0 ? 0 : static_cast<uint64_t>(t);
      s.last_ns = s.first_ns + kMs;  // the ms is truncated: the print lies within this ms
    }
  } else {
    auto c = r.cursor();
    uint32_t stretched = 0, longest = 0;  // record's pacing: intervals set, and the longest
    for (Event e; c.next(e);) {
      if (e.kind != EventKind::Sched) continue;
      if (e.interval_ms) stretched++, longest = std::max(longest, e.interval_ms);
      auto s = parse_sched_block(r.string(e.text));
      if (!s) {
        out.samples_unparsed++;
        continue;
      }
      raw.push_back({e.seq, e.sched_first_ns(), e.sched_last_ns(), std::move(*s), e.dump_begin_ns, e.dump_end_ns,
                     e.g_reads ? decode_reads(r.string(e.g_reads), e.seq) : std::vector<std::pair<uint64_t, uint64_t>>{}});
    }
    // Samples are placed by their own `SCHED Nms` and the dump probes, never by the interval.
    if (stretched) {
      out.notes.push_back(fmt::format("record changed the runtime's dump interval {} time{} (up to {} ms) so that "
                                      "dumps left the program its share of the time; samples are further apart there",
                                      stretched, stretched == 1 ? "" : "s", longest));
    }
    if (raw.empty()) {
      return make_error(out.samples_unparsed ? "the trace's schedtrace samples do not parse"
                                             : "the trace has no schedtrace samples",
                        "record with `gorepro record --schedtrace=10 --scheddetail -- PROGRAM`, or give a log captured "
                        "separately with --schedtrace-log FILE");
    }
    // The runtime's 0 ms on the trace clock: arrival = print + delay, print in [ms, ms+1),
    // so the smallest (arrival - ms) over all samples is the offset, late by at most 1 ms plus
    // the smallest delay.
    // With the dump probes, the tracer saw each dump begin: the same bound, without the delay.
    int64_t off = INT64_MAX;
    for (const RawSample& s : raw) {
      off = std::min(off, static_cast<int64_t>(s.begin_ns ? s.begin_ns : s.first_ns) - static_cast<int64_t>(s.s.header.ms * kMs));
    }
    out.clock_offset_ns = off;
    out.probed = std::all_of(raw.begin(), raw.end(), [](const RawSample& s) { return s.begin_ns && s.end_ns; });
  }
  out.detailed = std::all_of(raw.begin(), raw.end(), [](const RawSample& s) { return s.s.detailed; });

  // 2. Each sample against gorepro's table where the runtime read it.
  const bool four = std::any_of(h.probes.begin(), h.probes.end(), [](const std::string& p) { return p.rfind("preempt:", 0) == 0; });
  out.four_classes = four;
  // (A dump the program ended in is not compared: its reads and G lines are cut apart.)
  out.exact_reads = !raw.empty() && std::all_of(raw.begin(), raw.end(), [](const RawSample& s) {
    return !s.s.detailed || !s.reads.empty() || (s.begin_ns && !s.end_ns);
  });
  Replayer& rep = session.replayer();
  std::map<std::pair<std::string, std::string>, size_t> matrix;
  std::vector<Disagreement> all;
  size_t outside = 0, incomplete = 0;
  for (size_t k = 0; k < raw.size(); k++) {
    const RawSample& rs = raw[k];
    CorrelatedSample cs;
    cs.seq = rs.seq;
    cs.time_ns = rs.begin_ns ? rs.begin_ns : rs.first_ns;
    cs.runtime_ms = rs.s.header.ms;
    cs.detailed = rs.s.detailed;
    cs.threads = rs.s.header.threads, cs.runqueue = rs.s.header.runqueue, cs.idleprocs = rs.s.header.idleprocs;
    int64_t printed = out.clock_offset_ns + static_cast<int64_t>(rs.s.header.ms * kMs);
    uint64_t delay = rs.first_ns > static_cast<uint64_t>(std::max<int64_t>(printed, 0)) ? rs.first_ns - static_cast<uint64_t>(printed) : 0;
    if (!o.log) out.max_arrival_delay_ns = std::max(out.max_arrival_delay_ns, delay);
    cs.window_lo_ns = std::min<uint64_t>(rs.first_ns, static_cast<uint64_t>(std::max<int64_t>(printed - static_cast<int64_t>(kMs), 0)));
    cs.window_hi_ns = rs.last_ns;
    if (rs.begin_ns && rs.end_ns) {
      // Exact: the runtime read every state it printed between these two stops.
      cs.window_lo_ns = rs.begin_ns;
      cs.window_hi_ns = rs.end_ns;
      if (!o.log) out.max_arrival_delay_ns = std::max(out.max_arrival_delay_ns, rs.first_ns - std::min(rs.first_ns, rs.begin_ns));
    }
    // gorepro's table just before the dump began (arrival of the first byte without probes).
    const uint64_t at = rs.begin_ns ? rs.begin_ns : rs.first_ns;
    if (rs.s.detailed) cs.runtime_goroutines = static_cast<int64_t>(rs.s.live_goroutines());
    if (at < r.first_time_ns() || at > r.last_time_ns() + o.transition_slack_ns) {
      outside++;
      out.samples.push_back(cs);
      continue;
    }
    rep.seek_time(at);
    const GoroutineTable& t = rep.table();
    for (const auto& [goid, g] : t.goroutines()) {
      if (g.state == GoState::Dead) continue;
      cs.gorepro_live++;
      cs.gorepro_states[static_cast<size_t>(g.state)]++;
    }
    if (rs.s.detailed && rs.begin_ns && !rs.end_ns) {
      incomplete++;  // the program ended mid-dump: the block stops short of its G lines
    } else if (rs.s.detailed) {
      std::unordered_map<uint64_t, const SchedG*> rt;
      for (const SchedG& g : rs.s.gs) rt[g.goid] = &g;
      // gorepro's view of each goroutine where the runtime read it: with the G-line probe, at
      // the exact position among the events of each read; else every state gorepro gives it
      // between the dump's begin and end (the dump is no snapshot: it reads each goroutine at
      // its own moment), or at the begin alone when the dump was not probed.
      struct View {
        const SchedG* rg = nullptr;
        std::vector<std::pair<Class, uint32_t>> gorepro;  // [0]: at the read (or the begin)
        std::string gorepro_text;
      };
      std::map<uint64_t, View> views;
      for (const auto& [goid, g] : rt) views[goid].rg = g;
      auto note = [&](View& v, const Goroutine* g) {
        v.gorepro.emplace_back(gorepro_class_of(g, four), g ? g->wait_reason : 0);
        if (v.gorepro_text.empty()) v.gorepro_text = gorepro_view(g, h);
      };
      // Reads naming only the first G lines: the dump was capped while recording.
      const bool partial = !rs.reads.empty() && rs.reads.size() < rs.s.gs.size();
      if (!rs.reads.empty()) {
        std::vector<std::pair<uint64_t, uint64_t>> order;  // (position, goid)
        for (auto [goid, pos] : rs.reads) order.emplace_back(pos, goid);
        std::sort(order.begin(), order.end());
        // Goroutines gorepro has that the runtime did not list: the dump read their g at an
        // unknown point (a g is reused under a new goid once its goroutine exits), so only one
        // alive from the first read to the last — whose g must have been read — contradicts it.
        std::unordered_map<uint64_t, Goroutine> unlisted;
        rep.seek(order.front().first);
        for (const auto& [goid, g] : rep.table().goroutines()) {
          if (!views.count(goid) && g.state != GoState::Dead) unlisted.emplace(goid, g);
        }
        for (auto [pos, goid] : order) {
          rep.seek(pos);
          note(views[goid], rep.table().find(goid));
        }
        // A capped dump (record --scheddetail reads only its first G lines under a stop) read
        // the rest after its last probed read, up to its end.
        if (partial && rs.end_ns) rep.seek_time(rs.end_ns);
        for (const auto& [goid, g] : unlisted) {
          const Goroutine* now = rep.table().find(goid);
          if (now && now->state != GoState::Dead) note(views[goid], &g);
        }
      }
      if (rs.reads.empty() || partial) {
        // Where no read position is known: every state gorepro gives the goroutine from the
        // dump's begin to its end (with reads, only for G lines past the probed ones).
        if (!partial) {
          for (const auto& [goid, g] : t.goroutines()) views[goid];
        }
        std::unordered_set<uint64_t> read_exactly;
        for (auto& [goid, v] : views) {
          if (v.gorepro.empty()) {
            note(v, t.find(goid));
          } else {
            read_exactly.insert(goid);
          }
        }
        if (rs.begin_ns && rs.end_ns) {
          auto cur = r.cursor(r.first_seq_after(rs.begin_ns));
          for (Event e; cur.next(e) && e.time_ns <= rs.end_ns;) {
            auto add = [&](uint64_t goid, Class c, uint32_t reason) {
              if (read_exactly.count(goid)) return;
              if (auto it = views.find(goid); it != views.end()) it->second.gorepro.emplace_back(c, reason);
            };
            const Class active = four ? Class::Running : Class::Active;
            switch (e.kind) {
              case EventKind::Park: add(e.goid, Class::Waiting, e.wait_reason); break;
              case EventKind::Exit: add(e.goid, Class::Absent, 0); break;
              case EventKind::Create:
              case EventKind::Ready:
                add(e.goid, four ? Class::Runnable : Class::Active, 0);
                if (e.other_goid) add(e.other_goid, active, 0);  // it acted: running
                break;
              case EventKind::State: {
                Goroutine g;
                g.state = e.state;
                add(e.goid, gorepro_class_of(&g, four), 0);
                break;
              }
              default: break;
            }
          }
        }
      }
      std::vector<Disagreement> here;
      for (auto& [goid, v] : views) {
        const SchedG* rg = v.rg;
        Class rc = runtime_class_of(rg, four);
        if (v.gorepro.empty()) note(v, nullptr);
        const Class gc = v.gorepro.front().first;
        if (rc == Class::Absent && gc == Class::Absent) continue;
        if (rc == Class::Unknown) {
          cs.transient++;  // a status the runtime holds only mid-transition
          continue;
        }
        cs.compared++;
        matrix[{rg && rc != Class::Absent ? std::string(runtime_class_name(rg->runtime_class())) : "absent",
                v.gorepro_text.substr(0, v.gorepro_text.find(' '))}]++;
        auto same = [&](Class c, uint32_t reason) {
          // A pause looks like a park caught between its status change and dropping its M.
          if (rc == Class::GcPause)
            return c == Class::Running || c == Class::Runnable || c == Class::Active ||
                   (c == Class::Waiting && h.wait_reason_name(reason) == rg->wait_reason);
          return c == rc && (rc != Class::Waiting || h.wait_reason_name(reason) == rg->wait_reason);
        };
        bool at_read = same(gc, v.gorepro.front().second);
        bool agree = at_read;
        for (auto [c, reason] : v.gorepro) agree = agree || same(c, reason);
        cs.agreed_at_begin += at_read;
        cs.gc_pauses += rc == Class::GcPause && agree && gc != Class::Waiting;  // not a park caught mid-way
        if (agree) {
          cs.agreed++;
          continue;
        }
        Disagreement d;
        d.sample = k;
        d.goid = goid;
        d.runtime_view = runtime_view(rg);
        d.gorepro_view = v.gorepro_text;
        here.push_back(std::move(d));
      }
      if (!here.empty()) {
        // Events about these goroutines while the runtime was printing (widened by the slack).
        uint64_t lo = cs.window_lo_ns > o.transition_slack_ns ? cs.window_lo_ns - o.transition_slack_ns : 0;
        uint64_t hi = cs.window_hi_ns + o.transition_slack_ns;
        std::unordered_map<uint64_t, std::vector<Event>> near;
        std::unordered_set<uint64_t> wanted;
        for (const Disagreement& d : here) wanted.insert(d.goid);
        auto cur = r.cursor(lo ? r.first_seq_after(lo - 1) : 0);
        for (Event e; cur.next(e) && e.time_ns <= hi;) {
          if (e.kind == EventKind::Sched) continue;
          if (wanted.count(e.goid)) near[e.goid].push_back(e);
          if (e.other_goid != e.goid && wanted.count(e.other_goid)) near[e.other_goid].push_back(e);
        }
        for (Disagreement& d : here) {
          auto& evs = near[d.goid];
          for (const Event& e : evs) d.nearby_events.push_back(e.seq);
          if (!evs.empty()) {
            const Event& e = *std::min_element(evs.begin(), evs.end(), [&](const Event& a, const Event& b) {
              auto dist = [&](const Event& x) { return std::llabs(static_cast<long long>(x.time_ns) - static_cast<long long>(at)); };
              return dist(a) < dist(b);
            });
            d.explained = true;
            auto rel = [&](uint64_t x) { return (static_cast<double>(x) - static_cast<double>(at)) / 1e3; };
            d.explanation = fmt::format("in flight: {} event {} at {:+.0f} µs from the dump's {} (dump read states in {:+.0f}..{:+.0f} µs)",
                                        event_kind_name(e.kind), e.seq, rel(e.time_ns), rs.begin_ns ? "start" : "first byte",
                                        rel(cs.window_lo_ns), rel(cs.window_hi_ns));
          } else {
            d.explanation = "no gorepro event about this goroutine near the dump";
          }
          all.push_back(std::move(d));
        }
      }
      out.compared += cs.compared;
      out.agreed += cs.agreed;
      out.agreed_at_begin += cs.agreed_at_begin;
      out.gc_pauses += cs.gc_pauses;
      out.transient += cs.transient;
    }
    out.samples.push_back(cs);
  }
  if (outside) out.notes.push_back(fmt::format("{} samples lie outside the trace's time span; not compared", outside));
  if (incomplete) {
    out.notes.push_back(fmt::format("{} dump{} never finished (the program ended while it printed); not compared",
                                    incomplete, incomplete == 1 ? "" : "s"));
  }
  out.agreement = out.compared ? static_cast<double>(out.agreed) / static_cast<double>(out.compared) : 1.0;
  out.agreement_at_begin = out.compared ? static_cast<double>(out.agreed_at_begin) / static_cast<double>(out.compared) : 1.0;
  out.disagreements_total = all.size();
  out.explained = static_cast<size_t>(std::count_if(all.begin(), all.end(), [](const Disagreement& d) { return d.explained; }));
  std::stable_partition(all.begin(), all.end(), [](const Disagreement& d) { return !d.explained; });
  if (all.size() > o.max_listed) all.resize(o.max_listed);
  out.disagreements = std::move(all);
  for (const auto& [key, n] : matrix) out.class_matrix.emplace_back(key.first, key.second, n);
  if (out.detailed && !four) {
    out.notes.push_back("the trace was recorded without the state probes: runnable, running and syscall are compared as "
                        "one class (record with --schedtrace, which turns them on, to compare all four)");
  }
  if (!out.detailed) {
    out.notes.push_back("samples without scheddetail: only counts are compared (record with --scheddetail to check each goroutine)");
  }

  // 3. Growth windows over the runtime's count (gorepro's without scheddetail).
  std::vector<std::pair<uint64_t, int64_t>> series;
  for (const CorrelatedSample& s : out.samples) {
    series.emplace_back(s.time_ns, s.runtime_goroutines >= 0 ? s.runtime_goroutines : static_cast<int64_t>(s.gorepro_live));
  }
  for (const GrowthRange& r : find_growth(series, {o.growth_window_ns, o.growth_min_slope, o.growth_min_r2})) {
    const size_t from = r.from, to = r.to;
    GrowthWindow w;
    w.start_ns = series[from].first - out.clock_base_ns;
    w.end_ns = series[to - 1].first - out.clock_base_ns;
    w.slope_per_s = r.slope_per_s, w.r2 = r.r2;
    w.count_start = series[from].second, w.count_end = series[to - 1].second;
    rep.seek_time(series[from].first);
    auto before = live_by_site(rep.table());
    rep.seek_time(series[to - 1].first);
    auto after = live_by_site(rep.table());
    for (const auto& [gopc, n] : after) {
      int64_t net = n - (before.count(gopc) ? before[gopc] : 0);
      // The runtime's own goroutines (GC workers...) are not a program's growth.
      if (net > 0 && !is_runtime_function(session.symbols().creation_site(gopc).function)) {
        w.sites.push_back({site_name(session.symbols(), gopc), gopc, net});
      }
    }
    std::sort(w.sites.begin(), w.sites.end(), [](const GrowthSite& a, const GrowthSite& b) {
      return a.net != b.net ? a.net > b.net : a.site < b.site;
    });
    out.growth_windows.push_back(std::move(w));
  }
  return out;
}

nlohmann::json correlation_to_json(const Correlation& c) {
  using nlohmann::json;
  json samples = json::array();
  for (const CorrelatedSample& s : c.samples) {
    json states = json::object();
    for (int i = 0; i < kGoStateCount; i++) {
      if (s.gorepro_states[static_cast<size_t>(i)]) states[std::string(go_state_name(static_cast<GoState>(i)))] = s.gorepro_states[static_cast<size_t>(i)];
    }
    samples.push_back({{"time_ns", s.time_ns - c.clock_base_ns}, {"runtime_ms", s.runtime_ms},
                       {"window_ns", {static_cast<int64_t>(s.window_lo_ns - c.clock_base_ns), s.window_hi_ns - c.clock_base_ns}},
                       {"runtime_goroutines", s.runtime_goroutines}, {"threads", s.threads}, {"runqueue", s.runqueue},
                       {"idleprocs", s.idleprocs}, {"gorepro_live", s.gorepro_live}, {"gorepro_states", states},
                       {"compared", s.compared}, {"agreed", s.agreed}});
  }
  json dis = json::array();
  for (const Disagreement& d : c.disagreements) {
    dis.push_back({{"sample", d.sample}, {"time_ns", c.samples[d.sample].time_ns - c.clock_base_ns},
                   {"goid", d.goid}, {"runtime", d.runtime_view}, {"gorepro", d.gorepro_view},
                   {"explained", d.explained}, {"explanation", d.explanation}, {"events", d.nearby_events}});
  }
  json growth = json::array();
  for (const GrowthWindow& w : c.growth_windows) {
    json sites = json::array();
    for (const GrowthSite& s : w.sites) sites.push_back({{"site", s.site}, {"gopc", s.gopc}, {"net", s.net}});
    growth.push_back({{"start_ns", w.start_ns}, {"end_ns", w.end_ns}, {"slope_per_s", w.slope_per_s}, {"r2", w.r2},
                      {"count_start", w.count_start}, {"count_end", w.count_end}, {"sites", sites}});
  }
  json matrix = json::array();
  for (const auto& [rt, gr, n] : c.class_matrix) matrix.push_back({{"runtime", rt}, {"gorepro", gr}, {"count", n}});
  return json{{"samples", c.samples.size()},
              {"samples_unparsed", c.samples_unparsed},
              {"detailed", c.detailed},
              {"compared", c.compared},
              {"agreed", c.agreed},
              {"agreement", c.agreement},
              {"agreement_at_begin", c.agreement_at_begin},
              {"classes", c.four_classes ? json::array({"runnable", "running", "syscall", "waiting"})
                                         : json::array({"active", "waiting"})},
              {"exact_reads", c.exact_reads},
              {"gc_pauses", c.gc_pauses},
              {"transient_not_compared", c.transient},
              {"disagreements_total", c.disagreements_total},
              {"disagreements_explained", c.explained},
              {"disagreements", dis},
              {"class_matrix", matrix},
              {"growth_windows", growth},
              {"clock", {{"runtime_zero_ns", c.clock_offset_ns - static_cast<int64_t>(c.clock_base_ns)},
                         {"dumps_probed", c.probed},
                         {"from_log", c.from_log},
                         {"max_arrival_delay_ns", c.max_arrival_delay_ns}}},
              {"timeline", samples},
              {"notes", c.notes}};
}

std::string format_correlation_text(const Correlation& c, bool timeline) {
  std::string out;
  auto ms = [&](uint64_t t) { return static_cast<double>(t - c.clock_base_ns) / 1e6; };
  if (timeline) {
    out += fmt::format("{:>10} {:>8} {:>8} {:>7} {:>5} | {:>7} {:>8} {:>8} {:>7} {:>7} | {}\n", "time ms", "rt ms",
                       "rt gs", "threads", "runq", "gr live", "runnable", "running", "waiting", "syscall", "agree");
    for (const CorrelatedSample& s : c.samples) {
      out += fmt::format("{:>10.3f} {:>8} {:>8} {:>7} {:>5} | {:>7} {:>8} {:>8} {:>7} {:>7} | {}\n", ms(s.time_ns),
                         s.runtime_ms, s.runtime_goroutines >= 0 ? std::to_string(s.runtime_goroutines) : "-", s.threads,
                         s.runqueue, s.gorepro_live, s.gorepro_states[static_cast<size_t>(GoState::Runnable)],
                         s.gorepro_states[static_cast<size_t>(GoState::Running)],
                         s.gorepro_states[static_cast<size_t>(GoState::Waiting)],
                         s.gorepro_states[static_cast<size_t>(GoState::Syscall)],
                         s.detailed ? fmt::format("{}/{}", s.agreed, s.compared) : "-");
    }
    out += "\n";
  }
  out += fmt::format("{} schedtrace samples{}\n", c.samples.size(),
                     c.samples_unparsed ? fmt::format(" ({} more did not parse)", c.samples_unparsed) : "");
  out += fmt::format("clock: runtime 0 ms = {:.3f} ms into the trace (±1 ms: the runtime truncates to whole ms); {}\n",
                     static_cast<double>(c.clock_offset_ns - static_cast<int64_t>(c.clock_base_ns)) / 1e6,
                     c.from_log ? std::string("dumps placed by their printed ms (a log has no arrival times)")
                     : c.probed ? fmt::format("dumps placed exactly among the events (runtime.schedtrace probed); their "
                                            "first byte arrived up to {:.3f} ms after they began",
                                            static_cast<double>(c.max_arrival_delay_ns) / 1e6)
                              : fmt::format("dumps placed by arrival time, at most {:.3f} ms after their printed time",
                                            static_cast<double>(c.max_arrival_delay_ns) / 1e6));
  if (c.detailed) {
    const char* classes = c.four_classes ? "runnable/running/syscall/waiting" : "waiting/active";
    if (c.exact_reads) {
      out += fmt::format("agreement: {:.4f} ({} of {} goroutine observations agree on existence, {} and wait reason, "
                         "each where the runtime read it among the events)\n",
                         c.agreement, c.agreed, c.compared, classes);
    } else {
      out += fmt::format("agreement: {:.4f} ({} of {} goroutine observations agree on existence, {} and wait reason{})\n",
                         c.agreement, c.agreed, c.compared, classes,
                         c.probed ? fmt::format(" at some instant of the dump; {:.4f} with gorepro's table as of the dump's begin",
                                                c.agreement_at_begin)
                                  : "");
    }
    if (c.gc_pauses) {
      out += fmt::format("  of which {} running goroutines the runtime showed waiting in a GC pause (assist, mark "
                         "worker, stack scan: no park, so gorepro has them running)\n", c.gc_pauses);
    }
    if (c.transient) out += fmt::format("  not compared: {} G lines caught mid-transition (e.g. stack copy)\n", c.transient);
    out += fmt::format("disagreements: {} ({} in flight during the dump, {} unexplained)\n", c.disagreements_total,
                       c.explained, c.disagreements_total - c.explained);
    for (const Disagreement& d : c.disagreements) {
      out += fmt::format("  {:>9.3f} ms  goroutine {:<6} runtime: {:<28} gorepro: {:<28} {}\n", ms(c.samples[d.sample].time_ns),
                         d.goid, d.runtime_view, d.gorepro_view, d.explanation);
    }
    out += "runtime class x gorepro state:\n";
    for (const auto& [rt, gr, n] : c.class_matrix) out += fmt::format("  {:<10} {:<10} {}\n", rt, gr, n);
  }
  if (c.growth_windows.empty()) {
    out += "growth windows: none\n";
  } else {
    out += "growth windows:\n";
    for (const GrowthWindow& w : c.growth_windows) {
      out += fmt::format("  {:.1f}..{:.1f} ms: {} -> {} goroutines, {:+.1f}/s (r²={:.2f})\n", static_cast<double>(w.start_ns) / 1e6,
                         static_cast<double>(w.end_ns) / 1e6, w.count_start, w.count_end, w.slope_per_s, w.r2);
      for (const GrowthSite& s : w.sites) out += fmt::format("      +{:<5} {}\n", s.net, s.site);
    }
  }
  for (const std::string& n : c.notes) out += "note: " + n + "\n";
  return out;
}

}  // namespace gorepro::replay
