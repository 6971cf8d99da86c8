#include "bpf/record_decoder.h"

#include <elf.h>
#include <errno.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

namespace gorepro::bpf {

void RecordDecoder::decode(const gr_record& r, RecordBatch& out) const {
  const pid_t pid = static_cast<pid_t>(r.tgid);
  auto it = bias_.find(pid);
  const uint64_t bias = it == bias_.end() ? 0 : it->second;
  Decoded d;
  d.pid = pid;
  d.event.time_ns = r.time_ns;
  // Appends the frames [from, nframes) of r, link-time, after `first` frames already pushed.
  auto stack = [&](std::initializer_list<uint64_t> first, size_t from) {
    d.has_stack = true;
    d.stack_begin = static_cast<uint32_t>(out.pcs.size());
    for (uint64_t pc : first) out.pcs.push_back(pc);
    for (size_t i = from; i < r.nframes; i++) out.pcs.push_back(r.frames[i] - bias);
    size_t len = out.pcs.size() - d.stack_begin;
    if (len > depth_) out.pcs.resize(d.stack_begin + depth_), len = depth_;
    d.stack_len = static_cast<uint32_t>(len);
  };
  switch (r.kind) {
    case GR_CREATE: {
      const uint64_t gopc = r.pc - bias;
      d.event = replay::Event::create(r.time_ns, r.tid, r.other, r.goid, gopc, r.start_pc - bias, 0);
      // Walked from the parent's saved frame: the first return address is newproc's, i.e.
      // gopc, once the frames of systemstack and newproc itself are cut off.
      size_t from = r.nframes;
      if (r.flags & GR_F_FROM_PARENT) {
        for (size_t i = 0; i < r.nframes; i++) {
          if (r.frames[i] - bias == gopc) {
            from = i;
            break;
          }
        }
      }
      if (from < r.nframes) stack({}, from); else stack({gopc}, r.nframes);
      break;
    }
    case GR_PARK:
      d.event = replay::Event::park(r.time_ns, r.tid, r.goid, r.wait_reason, r.object, 0);
      if (r.flags & GR_F_AT_GOPARK) stack({gopark_entry_}, 0); else stack({}, 0);
      break;
    case GR_READY:
      d.event = replay::Event::ready(r.time_ns, r.tid, r.goid, r.other);
      break;
    case GR_EXIT:
      d.event = replay::Event::exit(r.time_ns, r.tid, r.goid);
      break;
    case GR_STATE:
      d.event = replay::Event::state_change(r.time_ns, r.tid, r.goid, static_cast<replay::GoState>(r.state));
      break;
    case GR_SCHED_BEGIN:
      d.kind = Decoded::Kind::kSchedBegin;
      break;
    case GR_SCHED_END:
      d.kind = Decoded::Kind::kSchedEnd;
      break;
    case GR_SCHED_G:
      d.kind = Decoded::Kind::kSchedRead;
      d.event.goid = r.goid;
      break;
    case GR_EXEC:
      d.kind = Decoded::Kind::kExec;
      break;
    default:
      return;  // a kind this loader does not know: the object and loader disagree; drop it
  }
  out.items.push_back(d);
}

Status deliver(const RecordBatch& batch, size_t begin, size_t end, pid_t pid, tracer::EventSink& sink, Delivery& state) {
  for (size_t i = begin; i < end; i++) {
    const Decoded& d = batch.items[i];
    if (d.pid != pid) continue;
    const uint64_t t = std::max(d.event.time_ns, state.last_time_ns);
    state.last_time_ns = t;
    switch (d.kind) {
      case Decoded::Kind::kEvent: {
        replay::Event e = d.event;
        e.time_ns = t;
        if (d.has_stack) e.stack = sink.intern_stack({batch.pcs.data() + d.stack_begin, d.stack_len});
        if (auto st = sink.emit(e); !st) return st;
        state.events++;
        break;
      }
      case Decoded::Kind::kSchedBegin:
      case Decoded::Kind::kSchedEnd:
        sink.schedtrace_dump(t, d.kind == Decoded::Kind::kSchedBegin);
        break;
      case Decoded::Kind::kSchedRead:
        sink.schedtrace_g_read(d.event.goid);
        break;
      case Decoded::Kind::kExec:
        break;
    }
  }
  return Ok{};
}

Result<uint64_t> load_bias_of(pid_t pid, uint64_t elf_entry) {
  const std::string path = fmt::format("/proc/{}/auxv", pid);
  FILE* f = std::fopen(path.c_str(), "rbe");
  if (!f) {
    return make_error(fmt::format("cannot read {}: {}", path, std::strerror(errno)),
                      "run gorepro as root or as the process's user");
  }
  Elf64_auxv_t aux;
  uint64_t entry = 0;
  while (std::fread(&aux, sizeof aux, 1, f) == 1 && aux.a_type != AT_NULL) {
    if (aux.a_type == AT_ENTRY) entry = aux.a_un.a_val;
  }
  std::fclose(f);
  if (entry == 0) return make_error(fmt::format("{} names no entry point", path), "");
  return entry - elf_entry;
}

}  // namespace gorepro::bpf
