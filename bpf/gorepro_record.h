/* The contract between gorepro's BPF programs (gorepro.bpf.c) and their loader (src/bpf/):
 * the record every probe hit produces in the ring buffer, and the configuration the loader
 * writes into the program's read-only data before load. Both sides include this file; it is
 * plain C so that clang -target bpf and the C++ loader read the same layout.
 *
 * Invariants: every field is naturally aligned and the struct sizes are multiples of 8 (no
 * implicit padding, identical on both sides); a record's length in the ring is
 * GR_RECORD_HEADER_SIZE + nframes * 8; addresses in records are run-time addresses (the
 * loader removes a PIE's load bias); state codes are gorepro's (replay::GoState), not the
 * runtime's _G* values, which vary by Go version and come in through gr_config. */
#ifndef GOREPRO_BPF_RECORD_H
#define GOREPRO_BPF_RECORD_H

#ifdef __cplusplus
#include <cstddef>
#include <cstdint>
/* Global, as in C: the generated skeleton names `struct gr_config`. */
using gr_u8 = uint8_t;
using gr_u16 = uint16_t;
using gr_u32 = uint32_t;
using gr_u64 = uint64_t;
using gr_s32 = int32_t;
#else
typedef __u8 gr_u8;
typedef __u16 gr_u16;
typedef __u32 gr_u32;
typedef __u64 gr_u64;
typedef __s32 gr_s32;
#endif

/* Frames a record can carry: --stack-depth's upper bound (a power of two: the BPF side masks
 * indexes with GR_MAX_FRAMES - 1). */
#define GR_MAX_FRAMES 256
/* Longest g list (injectglist, netpoll) walked at one hit, as the ptrace decoder bounds it. */
#define GR_MAX_LIST_WALK 100000
/* sudogs visited, and waiting to be, in one semaphore treap walk (as the ptrace decoder's
 * EventDecoder::semaphore_of, whose treap of a few addresses this bounds with room). */
#define GR_SEMA_WALK 64
#define GR_SEMA_TODO 16

enum gr_kind {
  GR_CREATE = 1,      /* goid created by other (parent) at pc (gopc), start_pc; frames: see flags */
  GR_PARK = 2,        /* goid parks: wait_reason, object; frames: its block stack */
  GR_READY = 3,       /* goid made runnable by other (waker, 0 = unknown) */
  GR_EXIT = 4,        /* goid ends */
  GR_STATE = 5,       /* goid changes to state (GR_STATE_*) */
  GR_SCHED_BEGIN = 6, /* the runtime begins a schedtrace dump */
  GR_SCHED_END = 7,   /* ... and ends it */
  GR_SCHED_G = 8,     /* ... and reads goroutine goid's status for its G line */
  GR_EXEC = 9,        /* the process called exec: the probed image is gone */
};

/* gorepro's goroutine states (the trace format's codes; replay::GoState). */
enum gr_state {
  GR_STATE_RUNNABLE = 1,
  GR_STATE_RUNNING = 2,
  GR_STATE_WAITING = 3,
  GR_STATE_SYSCALL = 4,
};

enum gr_flags {
  /* GR_CREATE: frames were walked from the parent's saved frame (g.sched.bp); the creation
   * stack starts at the frame equal to gopc (none: the stack is gopc alone). */
  GR_F_FROM_PARENT = 1,
  /* GR_PARK: frames start at the return address into gopark's caller; the stack's frame 0 is
   * gopark's own entry, which the loader knows. */
  GR_F_AT_GOPARK = 2,
};

struct gr_record {
  gr_u64 time_ns; /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
  gr_u32 tgid;
  gr_u32 tid;
  gr_u8 kind;     /* enum gr_kind */
  gr_u8 state;    /* GR_STATE: enum gr_state */
  gr_u16 flags;   /* enum gr_flags */
  gr_u16 nframes;
  gr_u16 reserved;
  gr_u32 wait_reason;
  gr_u32 reserved2;
  gr_u64 goid;
  gr_u64 other;    /* GR_CREATE: parent goid; GR_READY: waker goid */
  gr_u64 pc;       /* GR_CREATE: gopc */
  gr_u64 start_pc; /* GR_CREATE: start function */
  gr_u64 object;   /* GR_PARK: channel / lock / coro address, 0 = unknown */
  gr_u64 frames[GR_MAX_FRAMES];
};
#define GR_RECORD_HEADER_SIZE 72

/* Register operands are pt_regs slots (x86-64 struct pt_regs = user_regs_struct word index:
 * r15 0, r14 1, ..., rax 10, rcx 11, rdx 12, rsi 13, rdi 14, ..., rip 16, flags 18, rsp 19). */
#define GR_SLOT_R14 1
#define GR_SLOT_RBP 4
#define GR_SLOT_FLAGS 18
#define GR_SLOT_RSP 19

/* Offsets into the runtime's structs (bytes, from RuntimeLayout); -1 = the field does not
 * exist in this Go version. */
struct gr_config {
  gr_s32 off_goid, off_gopc, off_startpc, off_status, off_waitreason, off_parent;
  gr_s32 off_sched_pc, off_sched_bp, off_schedlink, off_m, off_stack_hi, off_waiting;
  gr_s32 off_m_g0, off_m_curg, off_sudog_c, off_coroarg, off_coroexit, off_coro_gp;
  gr_u32 g_read_size; /* bytes of a g read at once: max(offsets) + 8, <= GR_G_BUF */
  gr_u32 st_waiting, st_scan;   /* the runtime's _Gwaiting and _Gscan bit */
  gr_u32 reason_coroutine;      /* waitReasonCoroutine, when the runtime has it */
  /* pt_regs slots of the arguments/results each probe reads (-1: not available). */
  gr_s32 reg_create_result, reg_park_reason, reg_park_lock, reg_ready_gp, reg_inject_list;
  gr_s32 reg_netpoll_result, reg_execute_gp, reg_preempt_gp, reg_yield_gp, reg_exitsyscall0_gp;
  gr_s32 reg_sched_g_gp;
  gr_u32 stack_depth;  /* --stack-depth, 1..GR_MAX_FRAMES */
  gr_u64 wakeup_bytes; /* wake the reader once this much data waits in the ring */
  /* A semaphore wait's object: the semaRoot's treap and the sudog fields walked to find the
   * parking goroutine's semaphore address (-1 each: not known, the bucket is recorded). */
  gr_s32 off_semaroot_treap, off_sudog_g, off_sudog_elem, off_sudog_prev, off_sudog_next, off_sudog_waitlink;
  gr_u64 sema_reasons[4]; /* bit r set: waitReason r is a semaphore wait (waitReason is a uint8) */
};
#define GR_G_BUF 512

/* bpf_get_attach_cookie() of an entry probe that sits on the stack check's conditional jump:
 * GR_COOKIE_JCC | the jump's x86 condition code (low nibble of 0x7N / 0x0F 0x8N). When the
 * condition holds the function is not entered yet (it restarts after morestack): no event. */
#define GR_COOKIE_JCC 0x80u

/* Per-CPU counters (the "stats" map), indexed by these. */
enum gr_stat {
  GR_STAT_HITS = 0,          /* probe hits that entered their function */
  GR_STAT_EVENTS = 1,        /* records written to the ring */
  GR_STAT_READ_FAILURES = 2, /* hits whose memory could not be read: no record */
  GR_STAT_LOST = 3,          /* records the ring had no room for */
  GR_STAT_COUNT = 4,
};

/* Key of the "lost_goids" map: which goroutines' histories miss a record. */
struct gr_lost_key {
  gr_u32 tgid;
  gr_u32 reserved;
  gr_u64 goid;
};

#ifdef __cplusplus
static_assert(sizeof(gr_record) == GR_RECORD_HEADER_SIZE + GR_MAX_FRAMES * 8, "gr_record layout");
static_assert(offsetof(gr_record, frames) == GR_RECORD_HEADER_SIZE, "gr_record header size");
static_assert(sizeof(gr_config) % 8 == 0, "gr_config padding");
#endif

#endif
