// Goroutines alive when an ebpf recording attaches, read from user space — runtime.allgs
// through process_vm_readv (ProcessMemory), decoded by the shared EventDecoder — while the
// program runs on. The uprobes are attached first, so nothing is missed; what they saw while
// the goroutines were being read is in the ring, and reconcile() settles the overlap: a
// goroutine the probes saw created is recorded by that create event, not as preexisting; every
// other change seen meanwhile is delivered after the preexisting states and lands them in the
// same place (a park, ready or state change applied twice gives the same state).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

#include "bpf/record_decoder.h"
#include "dwarf/go_binary.h"
#include "replay/event.h"
#include "tracer/event_sink.h"
#include "util/result.h"

namespace gorepro::bpf {

// The preexisting events of process pid, stamped t0 (not emitted: their stacks are interned
// in sink already).
Result<std::vector<replay::Event>> read_preexisting(const GoBinary& binary, pid_t pid, uint64_t bias, int stack_depth,
                                                    uint64_t t0, tracer::EventSink& sink);

// Removes from `held` the goroutines the batch shows process pid creating.
void reconcile(std::vector<replay::Event>& held, const RecordBatch& batch, pid_t pid);

}  // namespace gorepro::bpf
