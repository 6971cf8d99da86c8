#include "replay/event.h"

namespace gorepro::replay {

std::string_view go_state_name(GoState s) {
  switch (s) {
    case GoState::Unknown: return "unknown";
    case GoState::Runnable: return "runnable";
    case GoState::Running: return "running";
    case GoState::Waiting: return "waiting";
    case GoState::Syscall: return "syscall";
    case GoState::Dead: return "dead";
  }
  return "unknown";
}

std::string_view event_kind_name(EventKind k) {
  switch (k) {
    case EventKind::Create: return "create";
    case EventKind::Park: return "park";
    case EventKind::Ready: return "ready";
    case EventKind::Exit: return "exit";
    case EventKind::Sched: return "sched";
    case EventKind::Preexisting: return "preexisting";
    case EventKind::State: return "state";
  }
  return "unknown";
}

}  // namespace gorepro::replay
