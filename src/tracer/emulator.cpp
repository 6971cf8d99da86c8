#include "tracer/emulator.h"

#include <capstone/capstone.h>

#include <cstddef>
#include <cstring>

namespace gorepro::tracer {

namespace {

constexpr uint64_t kCF = 1 << 0, kPF = 1 << 2, kAF = 1 << 4, kZF = 1 << 6, kSF = 1 << 7, kOF = 1 << 11;

// Byte offset of a 64-bit general-purpose register in user_regs_struct, or -1.
long reg_offset(x86_reg r) {
  switch (r) {
    case X86_REG_RAX: return offsetof(user_regs_struct, rax);
    case X86_REG_RBX: return offsetof(user_regs_struct, rbx);
    case X86_REG_RCX: return offsetof(user_regs_struct, rcx);
    case X86_REG_RDX: return offsetof(user_regs_struct, rdx);
    case X86_REG_RSI: return offsetof(user_regs_struct, rsi);
    case X86_REG_RDI: return offsetof(user_regs_struct, rdi);
    case X86_REG_RBP: return offsetof(user_regs_struct, rbp);
    case X86_REG_RSP: return offsetof(user_regs_struct, rsp);
    case X86_REG_R8: return offsetof(user_regs_struct, r8);
    case X86_REG_R9: return offsetof(user_regs_struct, r9);
    case X86_REG_R10: return offsetof(user_regs_struct, r10);
    case X86_REG_R11: return offsetof(user_regs_struct, r11);
    case X86_REG_R12: return offsetof(user_regs_struct, r12);
    case X86_REG_R13: return offsetof(user_regs_struct, r13);
    case X86_REG_R14: return offsetof(user_regs_struct, r14);
    case X86_REG_R15: return offsetof(user_regs_struct, r15);
    default: return -1;
  }
}

// The 64-bit register a 32-bit one is the low half of (eax → rax, r8d → r8), or INVALID.
x86_reg widen(x86_reg r) {
  switch (r) {
    case X86_REG_EAX: return X86_REG_RAX;
    case X86_REG_EBX: return X86_REG_RBX;
    case X86_REG_ECX: return X86_REG_RCX;
    case X86_REG_EDX: return X86_REG_RDX;
    case X86_REG_ESI: return X86_REG_RSI;
    case X86_REG_EDI: return X86_REG_RDI;
    case X86_REG_EBP: return X86_REG_RBP;
    case X86_REG_R8D: return X86_REG_R8;
    case X86_REG_R9D: return X86_REG_R9;
    case X86_REG_R10D: return X86_REG_R10;
    case X86_REG_R11D: return X86_REG_R11;
    case X86_REG_R12D: return X86_REG_R12;
    case X86_REG_R13D: return X86_REG_R13;
    case X86_REG_R14D: return X86_REG_R14;
    case X86_REG_R15D: return X86_REG_R15;
    default: return X86_REG_INVALID;
  }
}

uint64_t& at(Registers& regs, long off) {
  return *reinterpret_cast<uint64_t*>(reinterpret_cast<char*>(&regs.r) + off);
}

}  // namespace

uint64_t sub_flags(uint64_t a, uint64_t b, uint64_t old) {
  uint64_t res = a - b;
  uint64_t f = old & ~(kCF | kPF | kAF | kZF | kSF | kOF);
  if (a < b) f |= kCF;
  if (__builtin_parity(static_cast<unsigned>(res & 0xff)) == 0) f |= kPF;
  if ((a ^ b ^ res) & 0x10) f |= kAF;
  if (res == 0) f |= kZF;
  if (res >> 63) f |= kSF;
  if (((a ^ b) & (a ^ res)) >> 63) f |= kOF;
  return f;
}

InstructionEmulator InstructionEmulator::decode(std::span<const uint8_t> code, uint64_t address) {
  InstructionEmulator e;
  csh h;
  if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK) return e;
  cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
  cs_insn* insn = nullptr;
  size_t n = cs_disasm(h, code.data(), code.size(), address, 1, &insn);
  if (n == 1) {
    e.length_ = static_cast<uint8_t>(insn->size);
    e.text_ = std::string(insn->mnemonic) + (insn->op_str[0] ? std::string(" ") + insn->op_str : "");
    const cs_x86& x = insn->detail->x86;
    auto reg64 = [](const cs_x86_op& op) { return op.type == X86_OP_REG ? reg_offset(op.reg) : -1; };
    // `reg, [base + index*scale + disp]` operands into e; false if a register is not one we map.
    auto reg_mem = [&](const cs_x86_op& dst, const x86_op_mem& m) {
      e.dst_ = reg64(dst);
      e.base_ = m.base == X86_REG_INVALID ? -1 : reg_offset(m.base);
      e.index_ = m.index == X86_REG_INVALID ? -1 : reg_offset(m.index);
      e.scale_ = m.scale;
      e.disp_ = m.disp;
      return (m.base == X86_REG_INVALID || e.base_ >= 0) && (m.index == X86_REG_INVALID || e.index_ >= 0);
    };
    switch (insn->id) {
      case X86_INS_RET:
        if (x.op_count == 0) e.kind_ = Kind::kRet;
        break;
      case X86_INS_NOP:
        e.kind_ = Kind::kNop;
        break;
      case X86_INS_CMP:
        if (x.op_count == 2 && reg64(x.operands[0]) >= 0 && x.operands[1].type == X86_OP_MEM &&
            x.operands[1].size == 8 && x.operands[1].mem.segment == X86_REG_INVALID) {
          if (reg_mem(x.operands[0], x.operands[1].mem)) e.kind_ = Kind::kCmpRegMem;
        } else if (x.op_count == 2 && reg64(x.operands[0]) >= 0 && reg64(x.operands[1]) >= 0) {
          e.dst_ = reg64(x.operands[0]);
          e.src_ = reg64(x.operands[1]);
          e.kind_ = Kind::kCmpRegReg;
        }
        break;
      case X86_INS_LEA:
        // Big frames check the stack bound on `lea r12, [rsp-N]` first (runtime.schedtrace).
        if (x.op_count == 2 && reg64(x.operands[0]) >= 0 && x.operands[0].size == 8 && x.operands[1].type == X86_OP_MEM &&
            x.operands[1].mem.segment == X86_REG_INVALID && x.operands[1].mem.base != X86_REG_RIP) {
          if (reg_mem(x.operands[0], x.operands[1].mem)) e.kind_ = Kind::kLeaRegMem;
        }
        break;
      case X86_INS_MOVABS:
      case X86_INS_MOV:
        if (insn->id == X86_INS_MOVABS && !(x.op_count == 2 && x.operands[1].type == X86_OP_IMM)) break;
        if (x.op_count == 2 && reg64(x.operands[0]) >= 0 && reg64(x.operands[1]) >= 0) {
          e.dst_ = reg64(x.operands[0]);
          e.src_ = reg64(x.operands[1]);
          e.kind_ = Kind::kMovRegReg;
        } else if (x.op_count == 2 && reg64(x.operands[0]) >= 0 && x.operands[0].size == 8 &&
                   x.operands[1].type == X86_OP_MEM && x.operands[1].mem.segment == X86_REG_INVALID &&
                   x.operands[1].mem.base != X86_REG_RIP) {
          // A 64-bit load (`mov rdx, [r14+0x30]`: g.m, after a call returns).
          if (reg_mem(x.operands[0], x.operands[1].mem)) e.kind_ = Kind::kMovRegMem;
        } else if (x.op_count == 2 && x.operands[0].type == X86_OP_REG && x.operands[0].size == 4 &&
                   x.operands[1].type == X86_OP_MEM && x.operands[1].size == 4 &&
                   x.operands[1].mem.segment == X86_REG_INVALID && x.operands[1].mem.base != X86_REG_RIP) {
          // A 32-bit load, zero-extending into the 64-bit register (`mov ecx, [rax+0x90]`).
          cs_x86_op wide = x.operands[0];
          wide.reg = widen(x.operands[0].reg);
          if (reg_offset(wide.reg) >= 0 && reg_mem(wide, x.operands[1].mem)) e.kind_ = Kind::kMovRegMem32;
        } else if (x.op_count == 2 && x.operands[0].type == X86_OP_REG && x.operands[1].type == X86_OP_IMM &&
                   (x.operands[0].size == 4 || x.operands[0].size == 8)) {
          // An immediate into a register (`mov ebx, 1`: an argument set right before a call);
          // a 32-bit destination zero-extends.
          const bool narrow = x.operands[0].size == 4;
          e.dst_ = reg_offset(narrow ? widen(x.operands[0].reg) : x.operands[0].reg);
          e.imm_ = narrow ? static_cast<int64_t>(static_cast<uint32_t>(x.operands[1].imm)) : x.operands[1].imm;
          if (e.dst_ >= 0) e.kind_ = Kind::kMovRegImm;
        }
        break;
      case X86_INS_SUB:
        if (x.op_count == 2 && reg64(x.operands[0]) >= 0 && x.operands[1].type == X86_OP_IMM) {
          e.dst_ = reg64(x.operands[0]);
          e.imm_ = x.operands[1].imm;
          e.kind_ = Kind::kSubRegImm;
        }
        break;
      case X86_INS_JA: case X86_INS_JAE: case X86_INS_JB: case X86_INS_JBE: case X86_INS_JE:
      case X86_INS_JNE: case X86_INS_JG: case X86_INS_JGE: case X86_INS_JL: case X86_INS_JLE:
      case X86_INS_JS: case X86_INS_JNS:
        if (x.op_count == 1 && x.operands[0].type == X86_OP_IMM) {
          e.imm_ = x.operands[0].imm;
          e.condition_ = insn->id;
          e.kind_ = Kind::kJcc;
        }
        break;
      default:
        break;
    }
    cs_free(insn, n);
  }
  cs_close(&h);
  return e;
}

bool InstructionEmulator::branch_taken(const Registers& regs) const {
  const uint64_t f = regs.r.eflags;
  const bool cf = f & kCF, zf = f & kZF, sf = f & kSF, of = f & kOF;
  switch (condition_) {
    case X86_INS_JA: return !cf && !zf;
    case X86_INS_JAE: return !cf;
    case X86_INS_JB: return cf;
    case X86_INS_JBE: return cf || zf;
    case X86_INS_JE: return zf;
    case X86_INS_JNE: return !zf;
    case X86_INS_JG: return !zf && sf == of;
    case X86_INS_JGE: return sf == of;
    case X86_INS_JL: return sf != of;
    case X86_INS_JLE: return zf || sf != of;
    case X86_INS_JS: return sf;
    case X86_INS_JNS: return !sf;
    default: return false;
  }
}

uint64_t InstructionEmulator::effective_address(Registers& regs) const {
  uint64_t ea = static_cast<uint64_t>(disp_);
  if (base_ >= 0) ea += at(regs, base_);
  if (index_ >= 0) ea += at(regs, index_) * static_cast<uint64_t>(scale_);
  return ea;
}

bool InstructionEmulator::apply(Registers& regs, const ReadWord& read) const {
  uint64_t next = regs.r.rip + length_;
  switch (kind_) {
    case Kind::kUnsupported:
      return false;
    case Kind::kNop:
      break;
    case Kind::kJcc:
      if (branch_taken(regs)) next = static_cast<uint64_t>(imm_);
      break;
    case Kind::kRet: {
      uint64_t ret = 0;
      if (!read(regs.r.rsp, &ret)) return false;
      regs.r.rsp += 8;
      regs.r.rip = ret;
      return true;
    }
    case Kind::kCmpRegMem: {
      uint64_t mem = 0;
      if (!read(effective_address(regs), &mem)) return false;
      regs.r.eflags = sub_flags(at(regs, dst_), mem, regs.r.eflags);
      break;
    }
    case Kind::kLeaRegMem:  // address arithmetic only: no memory read, flags untouched
      at(regs, dst_) = effective_address(regs);
      break;
    case Kind::kCmpRegReg:
      regs.r.eflags = sub_flags(at(regs, dst_), at(regs, src_), regs.r.eflags);
      break;
    case Kind::kMovRegReg:
      at(regs, dst_) = at(regs, src_);
      break;
    case Kind::kMovRegImm:
      at(regs, dst_) = static_cast<uint64_t>(imm_);
      break;
    case Kind::kMovRegMem: {
      uint64_t mem = 0;
      if (!read(effective_address(regs), &mem)) return false;
      at(regs, dst_) = mem;
      break;
    }
    case Kind::kMovRegMem32: {
      uint64_t mem = 0;
      if (!read(effective_address(regs), &mem)) return false;
      at(regs, dst_) = mem & 0xffffffffu;
      break;
    }
    case Kind::kSubRegImm: {
      uint64_t a = at(regs, dst_);
      uint64_t b = static_cast<uint64_t>(imm_);
      regs.r.eflags = sub_flags(a, b, regs.r.eflags);
      at(regs, dst_) = a - b;
      break;
    }
  }
  regs.r.rip = next;
  return true;
}

}  // namespace gorepro::tracer
