#include "dwarf/disasm.h"

#include <capstone/capstone.h>

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

}  // namespace

// Decodes until the end of code; stops early and reports where decoding failed. Go's code is
// dense (no data in .text except int3 padding after a function's last instruction), so a
// decoding failure means the range was wrong.
Result<std::vector<Instruction>> Disassembler::decode(std::span<const uint8_t> code, uint64_t base) {
  Capstone cs;
  if (!cs.ok()) return make_error("cannot initialise the Capstone disassembler", "reinstall libcapstone4");
  cs_insn* insn = cs_malloc(cs.handle());
  const uint8_t* p = code.data();
  size_t size = code.size();
  uint64_t addr = base;
  std::vector<Instruction> out;
  while (size > 0) {
    uint64_t at = addr;
    if (!cs_disasm_iter(cs.handle(), &p, &size, &addr, insn)) {
      cs_free(insn, 1);
      return make_error(fmt::format("cannot decode the instruction at {:#x}", at),
                        "the function's bounds in the binary look wrong");
    }
    Instruction in;
    in.address = insn->address;
    in.length = static_cast<uint8_t>(insn->size);
    in.text = insn->op_str[0] ? fmt::format("{} {}", insn->mnemonic, insn->op_str) : insn->mnemonic;
    in.is_ret = insn->id == X86_INS_RET;
    out.push_back(std::move(in));
  }
  cs_free(insn, 1);
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
