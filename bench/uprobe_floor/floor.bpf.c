/* The uprobe floor: a program that only counts its hits, per CPU — what bpftrace's
 * `@[probe] = count()` does — for uprobes at exactly the sites gorepro's ebpf backend uses.
 * Its cost per hit is the kernel's uprobe machinery alone; gorepro's is that plus decoding. */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} hits SEC(".maps");

SEC("uprobe")
int count(void *ctx) {
  __u32 key = 0;
  __u64 *v = bpf_map_lookup_elem(&hits, &key);
  if (v) *v += 1;
  return 0;
}
