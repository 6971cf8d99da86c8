#include "dwarf/stackmap.h"

#include <algorithm>
#include <climits>
#include <cstring>

#include "util/read_le.h"

namespace gorepro {

namespace {

constexpr int32_t kArgsSizeUnknown = INT32_MIN;                 // abi.ArgsSizeUnknown
constexpr int kMaxFrames = 1 << 20;

}  // namespace

std::span<const uint8_t> StackMap::bitmap(int32_t i) const {
  if (i < 0 || i >= n || nbit <= 0) return {};
  const size_t len = (static_cast<size_t>(nbit) + 7) / 8;
  const size_t at = static_cast<size_t>(i) * len;
  if (at > bytes.size() || bytes.size() - at < len) return {};
  return bytes.subspan(at, len);
}

std::optional<StackMap> parse_stack_map(std::span<const uint8_t> funcdata) {
  auto n = read_le<int32_t>(funcdata, 0), nbit = read_le<int32_t>(funcdata, 4);
  if (!n || !nbit || *n < 0 || *nbit < 0) return std::nullopt;
  return StackMap{*n, *nbit, funcdata.subspan(8)};
}

std::optional<std::vector<StackObjectRecord>> parse_stack_objects(std::span<const uint8_t> funcdata) {
  auto n = read_le<uint64_t>(funcdata, 0);
  if (!n || *n > (funcdata.size() - 8) / 16) return std::nullopt;
  std::vector<StackObjectRecord> out(*n);
  for (size_t i = 0; i < out.size(); i++) std::memcpy(&out[i], funcdata.data() + 8 + 16 * i, 16);
  return out;
}

StackRoots stack_roots(const Pclntab& tab, uint64_t bias, std::span<const uint8_t> stack, uint64_t sp,
                       uint64_t stack_hi, uint64_t pc) {
  StackRoots r;
  const uint64_t base = sp;  // stack[0] is at base
  auto word_at = [&](uint64_t addr) { return read_le<uint64_t>(stack, addr - base); };
  auto stop = [&](std::string why) {
    r.conservative_from = sp;
    r.stopped = std::move(why);
    return r;
  };
  // The maps live in go:func.*: without its address no function's maps can be read.
  if (!tab.has_inline_tree()) return stop("go:func.* unknown");
  for (int depth = 0; depth < kMaxFrames; depth++) {
    if (sp >= stack_hi) break;
    const Pclntab::Function* f = tab.function_at(pc - bias);
    if (!f) return stop("an unknown pc");
    // The GC scans these frames and their callers conservatively: each holds the registers or
    // slots of a frame stopped at a non-safe point.
    if (interrupts_a_frame(f->name)) {
      return stop(f->name);
    }
    const uint8_t flag = tab.flag(*f);
    if (flag & kFuncFlagSPWrite) return stop(f->name + " (writes SP)");
    const uint64_t fpc = pc - bias;
    auto delta = tab.sp_delta(*f, fpc);
    if (!delta || *delta < 0) return stop(f->name + " (no frame size)");
    // amd64: the return address above the frame, the caller's frame pointer below it.
    const uint64_t fp = sp + static_cast<uint64_t>(*delta) + 8;
    if (fp > stack_hi) return stop(f->name + " (frame past the stack)");
    uint64_t varp = fp - 8;
    if (varp > sp) varp -= 8;
    const uint64_t argp = fp;

    // getStackMap: the map of the call instruction (pc-1); the entry map (index 0) at entry or
    // where the table has none.
    int32_t index = -1;
    if (fpc != f->entry) index = tab.pcdata(*f, kPcdataStackMapIndex, fpc - 1).value_or(-1);
    if (index == -1) index = 0;
    std::vector<uint64_t> slots;
    if (varp > sp) {
      auto m = parse_stack_map(tab.funcdata(*f, kFuncdataLocalsPointerMaps));
      if (!m || m->n <= 0) return stop(f->name + " (no locals map)");
      if (m->nbit > 0) {
        auto bits = m->bitmap(index);
        if (bits.empty()) return stop(f->name + " (locals map index out of range)");
        const uint64_t lo = varp - static_cast<uint64_t>(m->nbit) * 8;
        if (lo < sp) return stop(f->name + " (locals map larger than the frame)");
        for (int32_t i = 0; i < m->nbit; i++) {
          if ((bits[i / 8] >> (i % 8)) & 1) slots.push_back(lo + 8 * static_cast<uint64_t>(i));
        }
      }
    }
    const int32_t args = tab.args_size(*f);
    if (args == kArgsSizeUnknown) return stop(f->name + " (reflect stub)");
    if (args / 8 > 0) {
      auto m = parse_stack_map(tab.funcdata(*f, kFuncdataArgsPointerMaps));
      if (!m || m->n <= 0) return stop(f->name + " (no args map)");
      if (m->nbit > 0) {
        auto bits = m->bitmap(index);
        if (bits.empty()) return stop(f->name + " (args map index out of range)");
        if (argp + static_cast<uint64_t>(m->nbit) * 8 > stack_hi) return stop(f->name + " (args past the stack)");
        for (int32_t i = 0; i < m->nbit; i++) {
          if ((bits[i / 8] >> (i % 8)) & 1) slots.push_back(argp + 8 * static_cast<uint64_t>(i));
        }
      }
    }
    std::vector<StackRoots::Object> objects;
    if (auto d = tab.funcdata(*f, kFuncdataStackObjects); !d.empty()) {
      auto objs = parse_stack_objects(d);
      if (!objs) return stop(f->name + " (bad stack objects)");
      for (const StackObjectRecord& o : *objs) {
        const uint64_t at = (o.off < 0 ? varp : argp) + static_cast<uint64_t>(static_cast<int64_t>(o.off));
        if (at < sp) continue;  // not allocated in the frame yet
        const uint64_t size = o.size > 0 ? static_cast<uint64_t>(o.size) : 0;
        uint64_t ptr = o.ptr_bytes < 0 ? static_cast<uint64_t>(-static_cast<int64_t>(o.ptr_bytes))
                                       : static_cast<uint64_t>(o.ptr_bytes);
        objects.push_back({at, size, std::min(ptr, size)});
      }
    }
    r.pointer_slots.insert(r.pointer_slots.end(), slots.begin(), slots.end());
    r.objects.insert(r.objects.end(), objects.begin(), objects.end());
    r.frames++;
    if (flag & kFuncFlagTopFrame) break;
    auto lr = word_at(fp - 8);
    if (!lr) return stop(f->name + " (return address unreadable)");
    if (*lr == 0) break;
    sp = fp;
    pc = *lr;
    if (depth + 1 == kMaxFrames) return stop("too many frames");
  }
  r.conservative_from = stack_hi;
  return r;
}

}  // namespace gorepro
