#include "replay/goroutine_table.h"

namespace gorepro::replay {

const Goroutine* GoroutineTable::find(uint64_t goid) const {
  auto it = goroutines_.find(goid);
  return it == goroutines_.end() ? nullptr : &it->second;
}

Goroutine& GoroutineTable::entry(uint64_t goid, GoState placeholder_state, uint64_t time) {
  auto [it, inserted] = goroutines_.try_emplace(goid);
  Goroutine& g = it->second;
  if (inserted) {
    g.goid = goid;
    g.placeholder = true;
    g.state = placeholder_state;
    g.state_since_ns = time;
  }
  return g;
}

void GoroutineTable::set_state(Goroutine& g, GoState s, uint64_t time) {
  if (g.state != s) {
    g.state_since_ns = time;
    if (observer_) observer_(g.goid);
  }
  g.state = s;
  if (s != GoState::Waiting) {
    g.wait_reason = 0;
    g.blocking_object = 0;
    g.block_stack = 0;
  }
}

Goroutine* GoroutineTable::acted(uint64_t goid, uint32_t tid, const Event& e) {
  if (goid == 0) return nullptr;
  if (tid != 0) {
    auto [it, inserted] = running_on_tid_.try_emplace(tid, goid);
    if (!inserted && it->second != goid) {
      auto prev = goroutines_.find(it->second);
      if (prev != goroutines_.end() && prev->second.state == GoState::Running)
        set_state(prev->second, GoState::Runnable, e.time_ns);
      it->second = goid;
    }
  }
  Goroutine& g = entry(goid, GoState::Running, e.time_ns);
  set_state(g, GoState::Running, e.time_ns);
  return &g;
}

void GoroutineTable::apply(const Event& e) {
  ++applied_;
  time_ns_ = e.time_ns;
  switch (e.kind) {
    case EventKind::Create: {
      acted(e.other_goid, e.tid, e);
      if (e.goid == 0) break;
      Goroutine& g = entry(e.goid, GoState::Runnable, e.time_ns);
      g = Goroutine{};
      g.goid = e.goid, g.parent = e.other_goid, g.gopc = e.pc, g.start_pc = e.start_pc;
      g.creation_stack = e.stack, g.created_ns = e.time_ns;
      g.state = GoState::Runnable, g.state_since_ns = e.time_ns;
      ++created_[{e.pc, e.start_pc}];
      break;
    }
    case EventKind::Park: {
      Goroutine* g = acted(e.goid, e.tid, e);
      if (!g) break;
      set_state(*g, GoState::Waiting, e.time_ns);
      g->wait_reason = e.wait_reason, g->blocking_object = e.object, g->block_stack = e.stack;
      if (e.tid != 0) running_on_tid_.erase(e.tid);
      break;
    }
    case EventKind::Ready: {
      acted(e.other_goid, e.tid, e);
      if (e.goid == 0) break;
      Goroutine& g = entry(e.goid, GoState::Runnable, e.time_ns);
      set_state(g, GoState::Runnable, e.time_ns);
      break;
    }
    case EventKind::Exit: {
      Goroutine* g = acted(e.goid, e.tid, e);
      if (!g) break;
      if (e.tid != 0) running_on_tid_.erase(e.tid);
      ++dead_;
      if (keep_dead_)
        set_state(*g, GoState::Dead, e.time_ns);
      else
        goroutines_.erase(e.goid);
      break;
    }
    case EventKind::Preexisting: {
      if (e.goid == 0) break;
      Goroutine& g = entry(e.goid, e.state, e.time_ns);
      g.placeholder = false;
      g.preexisting = true;
      g.parent = e.other_goid, g.gopc = e.pc, g.start_pc = e.start_pc;
      g.created_ns = e.time_ns;
      set_state(g, e.state, e.time_ns);
      if (e.state == GoState::Waiting) g.wait_reason = e.wait_reason, g.block_stack = e.stack;
      ++created_[{e.pc, e.start_pc}];
      break;
    }
    case EventKind::State: {
      // Running: put on a CPU (execute, a system call's return); Runnable: descheduled
      // (preempted, yielded, or back from a system call without a P); Syscall.
      if (e.state == GoState::Running) {
        acted(e.goid, e.tid, e);
        break;
      }
      if (e.goid == 0) break;
      Goroutine& g = entry(e.goid, e.state, e.time_ns);
      set_state(g, e.state, e.time_ns);
      if (auto it = running_on_tid_.find(e.tid); e.state == GoState::Runnable && it != running_on_tid_.end() &&
                                                 it->second == e.goid)
        running_on_tid_.erase(it);
      break;
    }
    case EventKind::Sched:
      break;
  }
  // The labels the goroutine had at this event (a labels record followed it): kept until the
  // next such record. A create starts without any (Goroutine{} above) unless one follows.
  if (e.labels != 0 && e.kind != EventKind::Exit) {
    if (auto it = goroutines_.find(e.goid); it != goroutines_.end()) it->second.labels = e.labels;
  }
}

}  // namespace gorepro::replay
