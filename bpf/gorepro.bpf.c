/* gorepro's kernel side: one uprobe program per probe role (docs/probes.md), attached by the
 * loader (src/bpf/) at exactly the addresses src/dwarf chose. Each program does what the ptrace
 * decoder (src/tracer/event_decoder.cpp) does for its role — reads the runtime's g, m, sudog and
 * coro structures of the process that hit it and walks stacks by frame pointers — and writes
 * gr_records (gorepro_record.h) into one ring buffer, in the order the hits happened. Nothing
 * is compiled in about the Go runtime: offsets, argument registers and the runtime's status
 * constants arrive in `cfg` (read-only data, set before load), so the verifier sees them as
 * constants and one object serves every Go version.
 *
 * Never a uretprobe (Go moves stacks under them); entry probes that sit on the stack check's
 * conditional jump look at the flags and stay silent when the jump to morestack is taken.
 * A record the ring has no room for is counted (per CPU) with the goroutine it was about, so
 * the trace can say whose history is incomplete. */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "pt_regs.h"
#include "gorepro_record.h"

char LICENSE[] SEC("license") = "GPL";

const volatile struct gr_config cfg = {};

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 16 << 20); /* the loader sets the size */
} events SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, GR_STAT_COUNT);
  __type(key, __u32);
  __type(value, __u64);
} stats SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, struct gr_lost_key);
  __type(value, __u64);
} lost_goids SEC(".maps");

/* Processes whose exec ends their recording (the loader fills it). */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096);
  __type(key, __u32);
  __type(value, __u8);
} tracked SEC(".maps");

/* Working memory of one hit: g copies and the record being built. Per task rather than per
 * CPU: uprobe programs run preemptibly (migrate_disable only), so two threads on one CPU can
 * be inside a program at once; a task is in at most one. */
struct scratch {
  __u8 g[GR_G_BUF];
  __u8 g2[GR_G_BUF];
  struct gr_record rec;
};

struct {
  __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, int);
  __type(value, struct scratch);
} scratch SEC(".maps");

static __always_inline void count(__u32 which) {
  __u64 *v = bpf_map_lookup_elem(&stats, &which);
  if (v) __sync_fetch_and_add(v, 1);
}

static __always_inline void lost(__u32 tgid, __u64 goid) {
  count(GR_STAT_LOST);
  struct gr_lost_key k = {.tgid = tgid, .goid = goid};
  __u64 one = 1, *v = bpf_map_lookup_elem(&lost_goids, &k);
  /* Another CPU may insert the same goroutine between the lookup and the insert. */
  if (!v && bpf_map_update_elem(&lost_goids, &k, &one, BPF_NOEXIST) == 0) return;
  if (!v) v = bpf_map_lookup_elem(&lost_goids, &k);
  if (v) __sync_fetch_and_add(v, 1);
}

/* A register by pt_regs slot (a cfg constant). The verifier allows only constant offsets into
 * the context, and clang would fold a switch over ctx fields into one computed load, so the
 * general registers are copied out field by field first. */
static __always_inline __u64 reg(struct pt_regs *ctx, int slot) {
  __u64 r[16];
  r[0] = ctx->r15, r[1] = ctx->r14, r[2] = ctx->r13, r[3] = ctx->r12, r[4] = ctx->bp, r[5] = ctx->bx;
  r[6] = ctx->r11, r[7] = ctx->r10, r[8] = ctx->r9, r[9] = ctx->r8, r[10] = ctx->ax, r[11] = ctx->cx;
  r[12] = ctx->dx, r[13] = ctx->si, r[14] = ctx->di, r[15] = 0;
  if (slot < 0 || slot > 14) return 0;
  return r[slot & 15];
}

/* Whether x86 condition code cc (0..15: o, no, b, ae, e, ne, be, a, s, ns, p, np, l, ge, le, g)
 * holds for these flags. */
static __always_inline int cc_holds(__u64 flags, __u64 cc) {
  int cf = flags & 1, pf = (flags >> 2) & 1, zf = (flags >> 6) & 1, sf = (flags >> 7) & 1, of = (flags >> 11) & 1;
  int r;
  switch (cc >> 1) {
  case 0: r = of; break;
  case 1: r = cf; break;
  case 2: r = zf; break;
  case 3: r = cf | zf; break;
  case 4: r = sf; break;
  case 5: r = pf; break;
  case 6: r = sf != of; break;
  default: r = zf | (sf != of); break;
  }
  return r ^ (int)(cc & 1);
}

/* False when this hit is the stack check jumping to morestack: the function is not entered
 * yet and will run again from its entry (docs/probes.md, "Entry probes sit past the stack
 * check"). */
static __always_inline int entered(struct pt_regs *ctx) {
  __u64 c = bpf_get_attach_cookie(ctx);
  if (!(c & GR_COOKIE_JCC)) return 1;
  return !cc_holds(ctx->flags, c & 0xf);
}

static __always_inline int read_u64(__u64 addr, __u64 *out) {
  return addr != 0 && bpf_probe_read_user(out, sizeof *out, (const void *)addr) == 0;
}

static __always_inline int read_g(__u64 addr, __u8 *buf) {
  __u32 n = cfg.g_read_size;
  if (addr == 0 || n == 0 || n > GR_G_BUF) return 0;
  return bpf_probe_read_user(buf, n, (const void *)addr) == 0;
}

static __always_inline __u64 g_u64(const __u8 *g, int off) {
  if (off < 0 || off > GR_G_BUF - 8) return 0;
  return *(const __u64 *)(g + off);
}
static __always_inline __u32 g_u32(const __u8 *g, int off) {
  if (off < 0 || off > GR_G_BUF - 4) return 0;
  return *(const __u32 *)(g + off);
}
static __always_inline __u8 g_u8(const __u8 *g, int off) {
  if (off < 0 || off > GR_G_BUF - 1) return 0;
  return g[off];
}

/* The goroutine running on this thread: R14's g, or m.curg when R14 is the M's g0 (on the
 * system stack); 0 when unknown. */
static __always_inline __u64 current_user_g(struct pt_regs *ctx) {
  __u64 g = ctx->r14, m = 0, g0 = 0, curg = 0;
  if (!read_u64(g + cfg.off_m, &m) || m == 0) return g;
  if (!read_u64(m + cfg.off_m_g0, &g0) || g != g0) return g;
  if (!read_u64(m + cfg.off_m_curg, &curg)) return 0;
  return curg;
}

static __always_inline struct scratch *get_scratch(void) {
  return bpf_task_storage_get(&scratch, bpf_get_current_task_btf(), 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
}

static __always_inline void fill_header(struct gr_record *r, __u8 kind, __u64 now) {
  __u64 pt = bpf_get_current_pid_tgid();
  r->time_ns = now;
  r->tgid = pt >> 32;
  r->tid = (__u32)pt;
  r->kind = kind;
  r->state = 0;
  r->flags = 0;
  r->nframes = 0;
  r->reserved = 0;
  r->wait_reason = 0;
  r->reserved2 = 0;
  r->goid = 0;
  r->other = 0;
  r->pc = 0;
  r->start_pc = 0;
  r->object = 0;
}

/* Wakes the reader only when this record makes the waiting data cross cfg.wakeup_bytes; the
 * reader also polls with a timeout, so quiet periods cost no wake-up per record. */
static __always_inline __u64 wakeup_flags(__u64 size) {
  __u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
  return avail < cfg.wakeup_bytes && avail + size >= cfg.wakeup_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

/* Sends a record built in scratch with n frames. */
static __always_inline void submit(struct gr_record *r, __u32 n) {
  if (n > GR_MAX_FRAMES) n = GR_MAX_FRAMES;
  r->nframes = n;
  __u64 size = GR_RECORD_HEADER_SIZE + (__u64)n * 8;
  if (bpf_ringbuf_output(&events, r, size, wakeup_flags(size)) == 0)
    count(GR_STAT_EVENTS);
  else
    lost(r->tgid, r->goid);
}

/* A record without frames, straight into the ring. */
static __always_inline void emit_simple(__u8 kind, __u64 now, __u64 goid, __u64 other, __u8 state) {
  __u64 flags = wakeup_flags(GR_RECORD_HEADER_SIZE);
  struct gr_record *r = bpf_ringbuf_reserve(&events, GR_RECORD_HEADER_SIZE, 0);
  if (!r) {
    lost((__u32)(bpf_get_current_pid_tgid() >> 32), goid);
    return;
  }
  fill_header(r, kind, now);
  r->goid = goid;
  r->other = other;
  r->state = state;
  bpf_ringbuf_submit(r, flags);
  count(GR_STAT_EVENTS);
}

/* Frame-pointer walk from the frame at bp, appending return addresses at frames[n...] until
 * cfg.stack_depth frames, the top of the stack, a zero return address or a frame that does
 * not grow upward — the ptrace decoder's walk_stack, step for step. */
static __always_inline __u32 walk_frames(struct gr_record *r, __u32 n, __u64 bp, __u64 stack_hi) {
  __u32 depth = cfg.stack_depth;
#pragma clang loop unroll(disable)
  for (int i = 0; i < GR_MAX_FRAMES; i++) {
    if (n >= depth || n >= GR_MAX_FRAMES || bp == 0) break;
    if (stack_hi && bp + 16 > stack_hi) break;
    __u64 pair[2];
    if (bpf_probe_read_user(pair, sizeof pair, (const void *)bp)) break;
    if (pair[1] == 0) break;
    r->frames[n & (GR_MAX_FRAMES - 1)] = pair[1];
    n++;
    if (pair[0] <= bp) break;
    bp = pair[0];
  }
  return n;
}

/* The stack of a goroutine that is not running, from the context saved in its g.sched. */
static __always_inline __u32 saved_stack(struct gr_record *r, const __u8 *g) {
  __u32 n = 0;
  __u64 pc = g_u64(g, cfg.off_sched_pc);
  if (pc) r->frames[n++] = pc;
  return walk_frames(r, n, g_u64(g, cfg.off_sched_bp), g_u64(g, cfg.off_stack_hi));
}

/* A state change of the g at gaddr. */
static __always_inline void emit_state(__u64 now, __u64 gaddr, __u8 state) {
  __u64 goid = 0;
  if (!read_u64(gaddr ? gaddr + cfg.off_goid : 0, &goid)) {
    count(GR_STAT_READ_FAILURES);
    return;
  }
  emit_simple(GR_STATE, now, goid, 0, state);
}

/* At newproc1's RET: the result register holds the new g; R14 is this M's g0 and m.curg the
 * goroutine whose `go` statement ran (systemstack saved its frame in g.sched). */
SEC("uprobe")
int on_create(struct pt_regs *ctx) {
  __u64 now = bpf_ktime_get_ns();
  if (!entered(ctx)) return 0;
  count(GR_STAT_HITS);
  struct scratch *s = get_scratch();
  __u64 newg = reg(ctx, cfg.reg_create_result);
  if (!s || !read_g(newg, s->g)) {
    count(GR_STAT_READ_FAILURES);
    return 0;
  }
  struct gr_record *r = &s->rec;
  fill_header(r, GR_CREATE, now);
  r->goid = g_u64(s->g, cfg.off_goid);
  r->pc = g_u64(s->g, cfg.off_gopc);
  r->start_pc = g_u64(s->g, cfg.off_startpc);
  if (cfg.off_parent >= 0) r->other = g_u64(s->g, cfg.off_parent);
  __u32 n = 0;
  __u64 pg = current_user_g(ctx);
  if (pg && pg != newg && read_g(pg, s->g2)) {
    if (cfg.off_parent < 0) r->other = g_u64(s->g2, cfg.off_goid);
    n = walk_frames(r, 0, g_u64(s->g2, cfg.off_sched_bp), g_u64(s->g2, cfg.off_stack_hi));
    r->flags = GR_F_FROM_PARENT;
  }
  submit(r, n);
  /* Go 1.23 creates a coroutine's goroutine parked (newproc1's `parked`): it waits for its
   * first switch, at its start function, and nothing else will say so. */
  if ((g_u32(s->g, cfg.off_status) & ~cfg.st_scan) == cfg.st_waiting) {
    __u64 goid = r->goid;
    fill_header(r, GR_PARK, now);
    r->goid = goid;
    r->wait_reason = g_u8(s->g, cfg.off_waitreason);
    submit(r, saved_stack(r, s->g));
  }
  return 0;
}

static __always_inline int sema_reason(__u32 reason) {
  return reason < 256 && ((cfg.sema_reasons[(reason >> 6) & 3] >> (reason & 63)) & 1);
}

/* The address of the semaphore goroutine g parks on, as EventDecoder::semaphore_of: the park
 * is handed the semtable bucket, which unrelated semaphores share; g has just queued its sudog
 * in the bucket's treap, whose nodes are the addresses waited on and whose waitlink chains hold
 * their other waiters. A depth-first walk for the sudog of g, one node per bpf_loop step (a
 * plain loop's branches multiply the verifier's states past its limit). */
struct sema_walk {
  __u64 g, found;
  __u32 n;
  __u64 todo[GR_SEMA_TODO];
};

static __always_inline void sema_push(struct sema_walk *w, __u64 a) {
  if (a && w->n < GR_SEMA_TODO) w->todo[w->n++ & (GR_SEMA_TODO - 1)] = a;
}

static long sema_step(__u64 i, void *ctx) {
  struct sema_walk *w = ctx;
  if (w->n == 0 || w->n > GR_SEMA_TODO) return 1;
  w->n--;
  __u64 a = w->todo[w->n & (GR_SEMA_TODO - 1)], v = 0;
  if (!read_u64(a + cfg.off_sudog_g, &v)) return 1;
  if (v == w->g) {
    if (read_u64(a + cfg.off_sudog_elem, &v)) w->found = v;
    return 1;
  }
  if (read_u64(a + cfg.off_sudog_prev, &v)) sema_push(w, v);
  if (read_u64(a + cfg.off_sudog_next, &v)) sema_push(w, v);
  if (read_u64(a + cfg.off_sudog_waitlink, &v)) sema_push(w, v);
  return 0;
}

/* 0 when not found (the bucket is recorded then). */
static __always_inline __u64 semaphore_of(__u64 root, __u64 g) {
  struct sema_walk w = {.g = g};
  __u64 node = 0;
  if (cfg.off_semaroot_treap < 0 || cfg.off_sudog_g < 0 || cfg.off_sudog_elem < 0 || cfg.off_sudog_prev < 0 ||
      cfg.off_sudog_next < 0 || cfg.off_sudog_waitlink < 0 || !read_u64(root + cfg.off_semaroot_treap, &node) || !node) {
    return 0;
  }
  w.todo[0] = node;
  w.n = 1;
  bpf_loop(GR_SEMA_WALK, sema_step, &w, 0);
  return w.found;
}

/* At gopark's entry, on the parking goroutine's own stack: R14 is that g, the return address
 * is at RSP and RBP is still the caller's frame. */
SEC("uprobe")
int on_park(struct pt_regs *ctx) {
  __u64 now = bpf_ktime_get_ns();
  if (!entered(ctx)) return 0;
  count(GR_STAT_HITS);
  struct scratch *s = get_scratch();
  if (!s || !read_g(ctx->r14, s->g)) {
    count(GR_STAT_READ_FAILURES);
    return 0;
  }
  struct gr_record *r = &s->rec;
  fill_header(r, GR_PARK, now);
  r->goid = g_u64(s->g, cfg.off_goid);
  r->wait_reason = reg(ctx, cfg.reg_park_reason) & 0xff; /* waitReason is a uint8 */
  r->object = reg(ctx, cfg.reg_park_lock);
  const int sema = sema_reason(r->wait_reason);
  __u64 sudog = g_u64(s->g, cfg.off_waiting), chan = 0, elem = 0;
  if (sudog) {
    if (read_u64(sudog + cfg.off_sudog_c, &chan) && chan) {
      r->object = chan;
    } else if (sema && cfg.off_sudog_elem >= 0 && read_u64(sudog + cfg.off_sudog_elem, &elem) && elem) {
      r->object = elem; /* Go 1.26+ points g.waiting at a semaphore's sudog too */
    }
  } else if (sema && r->object) {
    __u64 addr = semaphore_of(r->object, ctx->r14);
    if (addr) r->object = addr;
  }
  __u64 ret = 0;
  read_u64(ctx->sp, &ret);
  r->frames[0] = ret;
  r->flags = GR_F_AT_GOPARK;
  submit(r, walk_frames(r, 1, ctx->bp, g_u64(s->g, cfg.off_stack_hi)));
  return 0;
}

SEC("uprobe")
int on_ready(struct pt_regs *ctx) {
  __u64 now = bpf_ktime_get_ns();
  if (!entered(ctx)) return 0;
  count(GR_STAT_HITS);
  __u64 gp = reg(ctx, cfg.reg_ready_gp), goid = 0, waker = 0;
  if (!read_u64(gp ? gp + cfg.off_goid : 0, &goid)) {
    count(GR_STAT_READ_FAILURES);
    return 0;
  }
  __u64 wg = current_user_g(ctx);
  if (wg && !read_u64(wg + cfg.off_goid, &waker)) waker = 0;
  emit_simple(GR_READY, now, goid, waker, 0);
  return 0;
}

struct list_walk {
  __u64 g;
  __u64 now;
};

static long list_step(__u32 i, struct list_walk *w) {
  __u64 goid = 0, next = 0;
  if (w->g == 0) return 1;
  if (!read_u64(w->g + cfg.off_goid, &goid) || !read_u64(w->g + cfg.off_schedlink, &next)) {
    count(GR_STAT_READ_FAILURES);
    return 1;
  }
  emit_simple(GR_READY, w->now, goid, 0, 0);
  w->g = next;
  return 0;
}

/* The netpoller and timers make whole lists of goroutines runnable without ready. */
SEC("uprobe")
int on_inject(struct pt_regs *ctx) {
  __u64 now = bpf_ktime_get_ns();
  if (!entered(ctx)) return 0;
  count(GR_STAT_HITS);
  __u64 list = reg(ctx, cfg.reg_inject_list), head = 0;
  if (list == 0 || !read_u64(list, &head)) return 0;
  struct list_walk w = {.g = head, .now = now};
  bpf_loop(GR_MAX_LIST_WALK, list_step, &w, 0);
  return 0;
}

/* At netpoll's RET the gList (one word, its head) is in the first result register. */
SEC("uprobe")
int on_netpoll(struct pt_regs *ctx) {
  __u64 now = bpf_ktime_get_ns();
  if (!entered(ctx)) return 0;
  count(GR_STAT_HITS);
  struct list_walk w = {.g = reg(ctx, cfg.reg_netpoll_result), .now = now};
  bpf_loop(GR_MAX_LIST_WALK, list_step, &w, 0);
  return 0;
}

/* State probes: gp from an argument register (on g0), or the goroutine itself (R14). */
#define STATE_PROBE(name, gaddr, to)                 \
  SEC("uprobe")                                      \
  int name(struct pt_regs *ctx) {                    \
    __u64 now = bpf_ktime_get_ns();                  \
    if (!entered(ctx)) return 0;                     \
    count(GR_STAT_HITS);                             \
    emit_state(now, (gaddr), (to));                  \
    return 0;                                        \
  }

STATE_PROBE(on_execute, reg(ctx, cfg.reg_execute_gp), GR_STATE_RUNNING)
/* park_m before its call of execute: a park whose commit said no, run at once. */
STATE_PROBE(on_unpark, reg(ctx, cfg.reg_execute_gp), GR_STATE_RUNNING)
/* A GC mark worker resuming from its gopark (made runnable by the scheduler, not ready). */
STATE_PROBE(on_gcworker, ctx->r14, GR_STATE_RUNNING)
STATE_PROBE(on_preempt, reg(ctx, cfg.reg_preempt_gp), GR_STATE_RUNNABLE)
STATE_PROBE(on_yield, reg(ctx, cfg.reg_yield_gp), GR_STATE_RUNNABLE)
STATE_PROBE(on_syscall, ctx->r14, GR_STATE_SYSCALL)
STATE_PROBE(on_syscall_block, ctx->r14, GR_STATE_SYSCALL)
STATE_PROBE(on_syscall_exit, ctx->r14, GR_STATE_RUNNING)
STATE_PROBE(on_syscall_exit0, reg(ctx, cfg.reg_exitsyscall0_gp), GR_STATE_RUNNABLE)

/* coroswitch_m, on g0 via mcall (m.curg is still the switching goroutine, its context saved in
 * g.sched): it waits for its coro — or, ending, is freed here without goexit1 — and the
 * goroutine the coro holds runs next on this thread. */
SEC("uprobe")
int on_coroswitch(struct pt_regs *ctx) {
  __u64 now = bpf_ktime_get_ns();
  if (!entered(ctx)) return 0;
  count(GR_STAT_HITS);
  struct scratch *s = get_scratch();
  __u64 gp = current_user_g(ctx), coro = 0, next = 0, exiting = 0;
  if (!s || cfg.off_coroarg < 0 || cfg.off_coroexit < 0 || cfg.off_coro_gp < 0 || !read_g(gp, s->g) ||
      !read_u64(gp + cfg.off_coroarg, &coro) || coro == 0 || !read_u64(gp + cfg.off_coroexit, &exiting) ||
      !read_u64(coro + cfg.off_coro_gp, &next)) {
    count(GR_STAT_READ_FAILURES);
    return 0;
  }
  __u64 goid = g_u64(s->g, cfg.off_goid);
  if (exiting & 0xff) {
    emit_simple(GR_EXIT, now, goid, 0, 0);
  } else {
    struct gr_record *r = &s->rec;
    fill_header(r, GR_PARK, now);
    r->goid = goid;
    r->wait_reason = cfg.reason_coroutine;
    r->object = coro;
    submit(r, saved_stack(r, s->g));
  }
  if (next) emit_state(now, next, GR_STATE_RUNNING);
  return 0;
}

/* Every goroutine ends in goexit1, on its own stack: R14 is the exiting g. */
SEC("uprobe")
int on_exit(struct pt_regs *ctx) {
  __u64 now = bpf_ktime_get_ns();
  if (!entered(ctx)) return 0;
  count(GR_STAT_HITS);
  __u64 goid = 0;
  if (!read_u64(ctx->r14 ? ctx->r14 + cfg.off_goid : 0, &goid)) {
    count(GR_STAT_READ_FAILURES);
    return 0;
  }
  emit_simple(GR_EXIT, now, goid, 0, 0);
  return 0;
}

SEC("uprobe")
int on_sched_begin(struct pt_regs *ctx) {
  __u64 now = bpf_ktime_get_ns();
  if (!entered(ctx)) return 0;
  count(GR_STAT_HITS);
  emit_simple(GR_SCHED_BEGIN, now, 0, 0, 0);
  return 0;
}

SEC("uprobe")
int on_sched_end(struct pt_regs *ctx) {
  __u64 now = bpf_ktime_get_ns();
  if (!entered(ctx)) return 0;
  count(GR_STAT_HITS);
  emit_simple(GR_SCHED_END, now, 0, 0, 0);
  return 0;
}

/* The schedtrace dump's forEachG closure loads gp's status for one G line. */
SEC("uprobe")
int on_sched_g(struct pt_regs *ctx) {
  __u64 now = bpf_ktime_get_ns();
  if (!entered(ctx)) return 0;
  count(GR_STAT_HITS);
  __u64 gp = reg(ctx, cfg.reg_sched_g_gp), goid = 0;
  if (!read_u64(gp ? gp + cfg.off_goid : 0, &goid)) {
    count(GR_STAT_READ_FAILURES);
    return 0;
  }
  emit_simple(GR_SCHED_G, now, goid, 0, 0);
  return 0;
}

/* A recorded process replaced its image: the probes are gone with it. A raw tracepoint, not a
 * tracepoint: attaching it needs no tracefs mount (a fresh machine often has none), and only the
 * current task is read. */
SEC("raw_tracepoint/sched_process_exec")
int on_exec(void *ctx) {
  __u32 tgid = bpf_get_current_pid_tgid() >> 32;
  if (!bpf_map_lookup_elem(&tracked, &tgid)) return 0;
  emit_simple(GR_EXEC, bpf_ktime_get_ns(), 0, 0, 0);
  return 0;
}
