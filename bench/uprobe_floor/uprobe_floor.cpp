// uprobe_floor: runs a program with a counting-only uprobe at every site `gorepro record
// --backend ebpf` would probe in it (the same chosen probes, file offsets and addresses), and
// prints how many hits there were. bench/churn.sh times it next to gorepro: the difference per
// event is what gorepro's decoding, stack walks and ring buffer add to the kernel's uprobes.
//
//   uprobe_floor [--probe-states] -- PROGRAM ARGS...
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf/probe_program.h"
#include "floor_bpf.skel.h"
#include "tracer/backend.h"

using namespace gorepro;

int main(int argc, char** argv) {
  tracer::ProbeOptions options;
  int i = 1;
  for (; i < argc && std::strcmp(argv[i], "--") != 0; i++) {
    if (std::strcmp(argv[i], "--probe-states") == 0) options.probe_states = true;
  }
  if (i + 1 >= argc) {
    std::fprintf(stderr, "usage: uprobe_floor [--probe-states] -- PROGRAM ARGS...\n");
    return 2;
  }
  char** command = argv + i + 1;
  auto binary = GoBinary::open(command[0]);
  if (!binary) {
    std::fprintf(stderr, "uprobe_floor: %s\n", binary.error().message().c_str());
    return 1;
  }
  auto probes = tracer::chosen_probes(**binary, options, tracer::BackendCaps{.stops_target = false});
  auto sites = bpf::uprobe_sites(**binary, probes);
  if (!sites) {
    std::fprintf(stderr, "uprobe_floor: %s\n", sites.error().message().c_str());
    return 1;
  }
  std::unique_ptr<floor_bpf, void (*)(floor_bpf*)> skel(floor_bpf__open_and_load(), floor_bpf__destroy);
  if (!skel) {
    std::fprintf(stderr, "uprobe_floor: cannot load the counting program: %s\n", std::strerror(errno));
    return 1;
  }
  std::vector<bpf_link*> links;
  for (const bpf::UprobeSite& s : *sites) {
    // Every process mapping the file: the program below, once it has exec'd.
    bpf_link* l = bpf_program__attach_uprobe(skel->progs.count, false, -1, command[0], s.file_offset);
    if (!l) {
      std::fprintf(stderr, "uprobe_floor: cannot attach at %#lx: %s\n", static_cast<unsigned long>(s.address),
                   std::strerror(errno));
      return 1;
    }
    links.push_back(l);
  }
  pid_t child = fork();
  if (child == 0) {
    execv(command[0], command);
    _exit(127);
  }
  int status = 0;
  waitpid(child, &status, 0);
  for (bpf_link* l : links) bpf_link__destroy(l);
  const int cpus = libbpf_num_possible_cpus();
  std::vector<uint64_t> per_cpu(static_cast<size_t>(cpus));
  uint32_t key = 0;
  uint64_t total = 0;
  if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.hits), &key, per_cpu.data()) == 0) {
    for (uint64_t v : per_cpu) total += v;
  }
  std::fprintf(stderr, "uprobe_floor: %llu hits at %zu sites\n", static_cast<unsigned long long>(total), sites->size());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
