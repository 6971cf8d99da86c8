/* struct pt_regs of x86-64, the context of a uprobe program: the user registers at the probe.
 * The layout is the kernel's (arch/x86/include/asm/ptrace.h), which is also user_regs_struct's
 * first 21 words — gorepro names registers by that word index (gr_config's pt_regs slots).
 * Written out here so the BPF object needs no kernel headers or vmlinux.h: no kernel struct
 * is read anywhere. */
#ifndef GOREPRO_BPF_PT_REGS_H
#define GOREPRO_BPF_PT_REGS_H

struct pt_regs {
  unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8;
  unsigned long ax, cx, dx, si, di, orig_ax, ip, cs, flags, sp, ss;
};

#endif
