#include "dwarf/probe_layout.h"

#include <algorithm>

#include <fmt/format.h>

#include "dwarf/go_binary.h"

namespace gorepro {

bool is_semaphore_wait(std::string_view reason) {
  return reason == "semacquire" || reason == "sync.Mutex.Lock" || reason == "sync.RWMutex.RLock" ||
         reason == "sync.RWMutex.Lock" || reason == "sync.WaitGroup.Wait";
}

Result<ProbeLayout> ProbeLayout::resolve(const GoBinary& binary) {
  ProbeLayout p;
  const RuntimeLayout& l = binary.layout();
  std::string missing;
  auto off = [&](const char* key, int64_t* out) {
    if (auto v = l.offset(key)) *out = *v; else missing += fmt::format(" {}", key);
  };
  off("g.goid", &p.g_goid);
  off("g.gopc", &p.g_gopc);
  off("g.startpc", &p.g_startpc);
  off("g.atomicstatus", &p.g_status);
  off("g.waitreason", &p.g_waitreason);
  off("g.sched.sp", &p.g_sched_sp);
  off("g.sched.pc", &p.g_sched_pc);
  off("g.sched.bp", &p.g_sched_bp);
  off("g.schedlink", &p.g_schedlink);
  off("g.m", &p.g_m);
  off("g.stack.hi", &p.g_stack_hi);
  off("g.waiting", &p.g_waiting);
  off("m.g0", &p.m_g0);
  off("m.curg", &p.m_curg);
  off("sudog.c", &p.sudog_c);
  if (auto v = l.offset("g.parentGoid")) p.g_parent = *v;
  if (auto v = l.offset("g.coroarg")) p.g_coroarg = *v;
  if (auto v = l.offset("g.coroexit")) p.g_coroexit = *v;
  if (auto v = l.offset("coro.gp")) p.coro_gp = *v;
  for (size_t i = 0; i < l.wait_reasons.size(); i++) {
    if (l.wait_reasons[i] == "coroutine") p.reason_coroutine = static_cast<uint32_t>(i);
  }
  {
    auto treap = l.offset("semaRoot.treap"), g = l.offset("sudog.g"), elem = l.offset("sudog.elem"),
         prev = l.offset("sudog.prev"), next = l.offset("sudog.next"), link = l.offset("sudog.waitlink");
    if (treap && g && elem && prev && next && link) {  // lock is semaRoot's first field in every version
      p.semaroot_treap = *treap, p.sudog_g = *g, p.sudog_elem = *elem, p.sudog_prev = *prev, p.sudog_next = *next;
      p.sudog_waitlink = *link;
      p.sema_reasons.resize(l.wait_reasons.size());
      for (size_t i = 0; i < l.wait_reasons.size(); i++) p.sema_reasons[i] = is_semaphore_wait(l.wait_reasons[i]);
    }
  }
  auto reg = [&](const char* fn, const char* name, std::string* out) {
    if (auto r = l.arg_register(fn, name)) *out = *r; else missing += fmt::format(" {}({})", fn, name);
  };
  reg("runtime.newproc1", "~r0", &p.reg_create_result);
  reg("runtime.gopark", "reason", &p.reg_park_reason);
  reg("runtime.gopark", "lock", &p.reg_park_lock);
  reg("runtime.ready", "gp", &p.reg_ready_gp);
  reg("runtime.injectglist", "glist", &p.reg_inject_list);
  reg("runtime.netpoll", "~r0", &p.reg_netpoll_result);
  reg("runtime.execute", "gp", &p.reg_execute_gp);
  reg("runtime.goschedImpl", "gp", &p.reg_preempt_gp);
  reg("runtime.goyield_m", "gp", &p.reg_yield_gp);
  reg("runtime.exitsyscall0", "gp", &p.reg_exitsyscall0_gp);
  if (const Probe* s = binary.probe("sched_g")) p.reg_sched_g_gp = s->base_register;
  auto st = [&](const char* name, uint32_t* out) {
    if (auto v = l.constant(name)) *out = static_cast<uint32_t>(*v); else missing += fmt::format(" {}", name);
  };
  st("_Gidle", &p.st_idle);
  st("_Grunnable", &p.st_runnable);
  st("_Grunning", &p.st_running);
  st("_Gsyscall", &p.st_syscall);
  st("_Gwaiting", &p.st_waiting);
  st("_Gdead", &p.st_dead);
  st("_Gpreempted", &p.st_preempted);
  st("_Gscan", &p.st_scan);
  if (auto v = l.constant("_Gleaked")) p.st_leaked = static_cast<uint32_t>(*v);
  if (auto v = l.constant("_Gdeadextra")) p.st_deadextra = static_cast<uint32_t>(*v);
  if (!missing.empty()) {
    return make_error(fmt::format("{}: the runtime layout lacks{}", binary.path(), missing),
                      "this Go version's runtime is not one gorepro supports");
  }
  if (auto v = l.offset("g.labels")) p.g_labels = *v;
  if (auto list = l.offset("labels.set.list"), value = l.offset("labels.label.value"); list && value) {
    p.labels_list = *list;
    p.label_size = *value + 16;  // Value is the last of the two strings
  }
  auto count = l.offset("labels.hmap.count"), b = l.offset("labels.hmap.B"), buckets = l.offset("labels.hmap.buckets"),
       old = l.offset("labels.hmap.oldbuckets"), tophash = l.offset("labels.bucket.tophash"),
       keys = l.offset("labels.bucket.keys"), values = l.offset("labels.bucket.values"),
       overflow = l.offset("labels.bucket.overflow");
  if (count && b && buckets && old && tophash && keys && values && overflow && *values > *keys) {
    p.hmap_count = *count, p.hmap_b = *b, p.hmap_buckets = *buckets, p.hmap_oldbuckets = *old;
    p.bucket_tophash = *tophash, p.bucket_keys = *keys, p.bucket_values = *values, p.bucket_overflow = *overflow;
    p.bucket_entries = (*values - *keys) / 16;  // string keys: 16 bytes each
    p.bucket_size = *overflow + 8;
  }
  int64_t max_off = 0;
  for (int64_t o : {p.g_goid, p.g_gopc, p.g_startpc, p.g_status, p.g_waitreason, p.g_parent, p.g_sched_sp,
                    p.g_sched_pc, p.g_sched_bp, p.g_schedlink, p.g_m, p.g_stack_hi, p.g_waiting, p.g_labels}) {
    max_off = std::max(max_off, o);
  }
  p.g_read_size = static_cast<size_t>(max_off) + 8;
  if (const Probe* park = binary.probe("park")) p.gopark_entry = park->function.entry;
  return p;
}

}  // namespace gorepro
