#include "replay/event_view.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "replay/duration.h"
#include "replay/frame_json.h"

namespace gorepro::replay {
namespace {

std::string goroutine_name(uint64_t goid) { return goid ? fmt::format("g{}", goid) : "?"; }

std::string site_and_function(const SourceFrame& f) {
  return f.file.empty() ? f.function : fmt::format("{} ({})", format_site(f), f.function);
}

bool has_block_stack(const Event& e) {
  return e.kind == EventKind::Park || (e.kind == EventKind::Preexisting && e.state == GoState::Waiting);
}

}  // namespace

std::string EventView::since_start(uint64_t time_ns) const {
  const uint64_t start = reader_.start_time_ns();
  return time_ns >= start ? "+" + format_duration(time_ns - start) : "-" + format_duration(start - time_ns);
}

std::string EventView::what(const Event& e) const {
  const TraceHeader& h = reader_.header();
  switch (e.kind) {
    case EventKind::Create:
      return fmt::format("{} created by {} at {}, starts {}", goroutine_name(e.goid), goroutine_name(e.other_goid),
                         site_and_function(symbols_.creation_site(e.pc)), symbols_.function_at(e.start_pc));
    case EventKind::Park: {
      std::string out = fmt::format("{} parks: {}", goroutine_name(e.goid), h.wait_reason_name(e.wait_reason));
      if (auto pcs = reader_.stack(e.stack); !pcs.empty())
        out += " at " + site_and_function(symbols_.block_site(pcs));
      if (e.object) out += fmt::format(" on {:#x}", e.object);
      return out;
    }
    case EventKind::Ready:
      return fmt::format("{} made runnable by {}", goroutine_name(e.goid),
                         e.other_goid ? goroutine_name(e.other_goid) : "the runtime (timer, netpoller or unknown)");
    case EventKind::Exit: return fmt::format("{} exits", goroutine_name(e.goid));
    case EventKind::State:
      switch (e.state) {
        case GoState::Running: return fmt::format("{} runs", goroutine_name(e.goid));
        case GoState::Runnable: return fmt::format("{} is descheduled (preempted or yields), runnable", goroutine_name(e.goid));
        case GoState::Syscall: return fmt::format("{} enters a system call", goroutine_name(e.goid));
        default: return fmt::format("{} is now {}", goroutine_name(e.goid), go_state_name(e.state));
      }
    case EventKind::Sched: {
      const std::string& text = reader_.string(e.text);
      return "schedtrace sample: " + text.substr(0, text.find('\n'));
    }
    case EventKind::Preexisting: {
      std::string state(go_state_name(e.state));
      if (e.state == GoState::Waiting) state += ": " + h.wait_reason_name(e.wait_reason);
      return fmt::format("{} was alive when recording began ({}), created at {}, starts {}", goroutine_name(e.goid),
                         state, site_and_function(symbols_.creation_site(e.pc)), symbols_.function_at(e.start_pc));
    }
  }
  return "?";
}

std::string EventView::summary(const Event& e) const {
  return fmt::format("event {}  {}  {}", e.seq, since_start(e.time_ns), what(e));
}

std::string EventView::details(const Event& e) const {
  std::string out = summary(e) + "\n";
  if (e.tid) out += fmt::format("  thread {}\n", e.tid);
  if (e.kind == EventKind::Sched) {
    const std::string& text = reader_.string(e.text);
    if (text.find('\n') != std::string::npos) out += text + (text.ends_with('\n') ? "" : "\n");
    return out;
  }
  if (e.stack == 0) return out;
  const bool block = has_block_stack(e);
  out += block ? "  block stack:\n" : "  creation stack:\n";
  for (const auto& f : symbols_.frames(reader_.stack(e.stack), block)) out += "    " + format_frame(f) + "\n";
  return out;
}

nlohmann::json EventView::to_json(const Event& e, bool with_stack) const {
  const uint64_t start = reader_.start_time_ns();
  nlohmann::json j = {{"seq", e.seq},
                      {"time_ns", e.time_ns >= start ? e.time_ns - start : 0},
                      {"kind", event_kind_name(e.kind)},
                      {"goid", e.goid},
                      {"tid", e.tid}};
  const TraceHeader& h = reader_.header();
  switch (e.kind) {
    case EventKind::Create:
    case EventKind::Preexisting:
      j["parent"] = e.other_goid;
      j["gopc"] = e.pc;  // raw: differs between builds, unlike creation_site
      j["creation_site"] = frame_to_json(symbols_.creation_site(e.pc));
      j["start_function"] = symbols_.function_at(e.start_pc);
      if (e.kind == EventKind::Preexisting) {
        j["state"] = go_state_name(e.state);
        if (e.state == GoState::Waiting) j["wait_reason"] = h.wait_reason_name(e.wait_reason);
      }
      break;
    case EventKind::Park: {
      j["wait_reason"] = h.wait_reason_name(e.wait_reason);
      j["object"] = e.object;
      auto pcs = reader_.stack(e.stack);
      j["block_site"] = pcs.empty() ? nlohmann::json(nullptr) : frame_to_json(symbols_.block_site(pcs));
      break;
    }
    case EventKind::Ready: j["waker"] = e.other_goid; break;
    case EventKind::Exit: break;
    case EventKind::State: j["state"] = go_state_name(e.state); break;
    case EventKind::Sched: j["text"] = reader_.string(e.text); break;
  }
  if (with_stack && (e.kind == EventKind::Create || e.kind == EventKind::Park || e.kind == EventKind::Preexisting))
    j[has_block_stack(e) ? "block_stack" : "creation_stack"] =
        frames_to_json(symbols_.frames(reader_.stack(e.stack), has_block_stack(e)));
  return j;
}

}  // namespace gorepro::replay
