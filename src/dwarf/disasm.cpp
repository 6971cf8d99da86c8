#include "dwarf/disasm.h"

#include <capstone/capstone.h>

#include <memory>

#include <fmt/format.h>

namespace gorepro {

namespace {

// RAII for a Capstone handle in x86-64 mode, Intel syntax.
class Capstone {
 public:
  Capstone() { ok_ = cs_open(CS_ARCH_X86, CS_MODE_64, &h_) == CS_ERR_OK; }
  ~Capstone() { if (ok_) cs_close(&h_); }
  bool ok() const { return ok_; }
  csh handle() const { return h_; }

 private:
  csh h_ = 0;
  bool ok_ = false;
};

// Calls fn(handle, insn) for every instruction of code, decoded until its end (with Capstone's
// per-instruction detail when `detail`); an instruction that does not decode is an error naming
// where. Go's code is dense (no data in .text except int3 padding after a function's last
// instruction), so a decoding failure means the range was wrong.
template <class Fn>
Status each_instruction(std::span<const uint8_t> code, uint64_t base, bool detail, Fn&& fn) {
  Capstone cs;
  if (!cs.ok()) return make_error("cannot initialise the Capstone disassembler", "reinstall libcapstone4");
  if (detail) cs_option(cs.handle(), CS_OPT_DETAIL, CS_OPT_ON);
  std::unique_ptr<cs_insn, void (*)(cs_insn*)> insn(cs_malloc(cs.handle()), [](cs_insn* i) { cs_free(i, 1); });
  const uint8_t* p = code.data();
  size_t size = code.size();
  uint64_t addr = base;
  while (size > 0) {
    uint64_t at = addr;
    if (!cs_disasm_iter(cs.handle(), &p, &size, &addr, insn.get())) {
      return make_error(fmt::format("cannot decode the instruction at {:#x}", at),
                        "the function's bounds in the binary look wrong");
    }
    fn(cs.handle(), insn.get());
  }
  return Ok{};
}

}  // namespace

Result<std::vector<Instruction>> Disassembler::decode(std::span<const uint8_t> code, uint64_t base) {
  std::vector<Instruction> out;
  Status st = each_instruction(code, base, false, [&](csh, const cs_insn* insn) {
    Instruction in;
    in.address = insn->address;
    in.length = static_cast<uint8_t>(insn->size);
    in.text = insn->op_str[0] ? fmt::format("{} {}", insn->mnemonic, insn->op_str) : insn->mnemonic;
    in.is_ret = insn->id == X86_INS_RET;
    out.push_back(std::move(in));
  });
  if (!st) return st.error();
  return out;
}

Result<std::vector<uint64_t>> Disassembler::ret_sites(std::span<const uint8_t> code, uint64_t base) {
  auto insns = decode(code, base);
  if (!insns) return insns.error();
  std::vector<uint64_t> rets;
  for (const Instruction& in : *insns) {
    if (in.is_ret) rets.push_back(in.address);
  }
  return rets;
}

Result<std::vector<uint64_t>> Disassembler::exit_sites(std::span<const uint8_t> code, uint64_t base) {
  struct Insn {
    uint64_t address;
    bool ret = false, call = false, cond = false, jump = false, indirect = false, frame_only = true;
    uint64_t target = 0;  // jumps with an immediate target
  };
  std::vector<Insn> insns;
  Status st = each_instruction(code, base, true, [&](csh h, const cs_insn* insn) {
    Insn in{insn->address};
    in.ret = insn->id == X86_INS_RET;
    in.call = cs_insn_group(h, insn, X86_GRP_CALL);
    in.jump = cs_insn_group(h, insn, X86_GRP_JUMP);
    in.cond = in.jump && insn->id != X86_INS_JMP;
    const cs_x86& x = insn->detail->x86;
    if (in.jump) {
      if (x.op_count == 1 && x.operands[0].type == X86_OP_IMM) in.target = static_cast<uint64_t>(x.operands[0].imm);
      else in.indirect = true;
    }
    cs_regs read, written;
    uint8_t nread = 0, nwritten = 0;
    if (cs_regs_access(h, insn, read, &nread, written, &nwritten) != CS_ERR_OK) in.frame_only = false;
    for (uint8_t i = 0; i < nwritten; i++) {
      const uint16_t r = written[i];
      if (r != X86_REG_RSP && r != X86_REG_RBP && r != X86_REG_EFLAGS && r != X86_REG_RIP) in.frame_only = false;
    }
    insns.push_back(in);
  });
  if (!st) return st.error();

  std::vector<uint64_t> out;
  for (size_t r = 0; r < insns.size(); r++) {
    if (!insns[r].ret) continue;
    const uint64_t ret = insns[r].address;
    // Walk back over the epilogue; remember its first conditional jump.
    size_t best = r;
    for (size_t i = r; i-- > 0;) {
      const Insn& in = insns[i];
      if (in.ret || in.call || in.indirect || !in.frame_only || (in.jump && !in.cond)) break;
      if (in.cond && !(in.target > in.address && in.target <= ret)) break;
      if (in.cond) best = i;
    }
    // Entered only through `best`: no jump from outside [best, ret) lands in (best, ret].
    for (size_t i = 0; best != r && i < insns.size(); i++) {
      const Insn& in = insns[i];
      const bool inside = i >= best && i < r;
      if (!inside && (in.indirect || (in.target > insns[best].address && in.target <= ret))) best = r;
    }
    out.push_back(insns[best].address);
  }
  return out;
}

Result<std::vector<uint64_t>> Disassembler::rip_relative_targets(std::span<const uint8_t> code, uint64_t base) {
  Capstone cs;
  if (!cs.ok()) return make_error("cannot initialise the Capstone disassembler", "reinstall libcapstone4");
  cs_option(cs.handle(), CS_OPT_DETAIL, CS_OPT_ON);
  cs_insn* insn = cs_malloc(cs.handle());
  const uint8_t* p = code.data();
  size_t size = code.size();
  uint64_t addr = base;
  std::vector<uint64_t> out;
  while (size > 0 && cs_disasm_iter(cs.handle(), &p, &size, &addr, insn)) {
    const cs_x86& x = insn->detail->x86;
    for (uint8_t i = 0; i < x.op_count; i++) {
      const cs_x86_op& op = x.operands[i];
      if (op.type == X86_OP_MEM && op.mem.base == X86_REG_RIP && op.mem.index == X86_REG_INVALID) {
        out.push_back(insn->address + insn->size + static_cast<uint64_t>(op.mem.disp));
      }
    }
  }
  cs_free(insn, 1);
  return out;
}

}  // namespace gorepro
