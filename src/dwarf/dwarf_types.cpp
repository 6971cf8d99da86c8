#include "dwarf/dwarf_types.h"

#include <dwarf.h>
#include <libdwarf.h>

#include <algorithm>
#include <cstring>
#include <functional>

#include <fmt/format.h>

namespace gorepro {

namespace {

constexpr const char* kIntRegs[] = {"RAX", "RBX", "RCX", "RDI", "RSI", "R8", "R9", "R10", "R11"};
constexpr int kNumIntRegs = 9;
constexpr int kNumFloatRegs = 15;

// A DIE owned for the duration of a scope.
class Die {
 public:
  Die() = default;
  explicit Die(Dwarf_Die d) : d_(d) {}
  Die(Die&& o) noexcept : d_(o.d_) { o.d_ = nullptr; }
  Die& operator=(Die&& o) noexcept { std::swap(d_, o.d_); return *this; }
  ~Die() { if (d_) dwarf_dealloc_die(d_); }
  Dwarf_Die get() const { return d_; }
  explicit operator bool() const { return d_ != nullptr; }

 private:
  Dwarf_Die d_ = nullptr;
};

}  // namespace

struct DwarfTypes::Impl {
  Dwarf_Debug dbg = nullptr;
  std::map<std::string, Dwarf_Off, std::less<>> structs;
  std::map<std::string, Dwarf_Off, std::less<>> functions;
  std::map<std::string, DwarfVariable, std::less<>> variables;

  ~Impl() {
    if (dbg) dwarf_finish(dbg, nullptr);
  }

  Die at(Dwarf_Off off) const {
    Dwarf_Die d = nullptr;
    Dwarf_Error err = nullptr;
    if (dwarf_offdie_b(dbg, off, true, &d, &err) != DW_DLV_OK) return Die();
    return Die(d);
  }

  static Dwarf_Half tag(const Die& d) {
    Dwarf_Half t = 0;
    Dwarf_Error err = nullptr;
    dwarf_tag(d.get(), &t, &err);
    return t;
  }

  static std::string name(Dwarf_Die d) {
    char* n = nullptr;
    Dwarf_Error err = nullptr;
    if (dwarf_diename(d, &n, &err) != DW_DLV_OK || !n) return {};
    return n;
  }

  static std::optional<Dwarf_Off> type_of(Dwarf_Die d) {
    Dwarf_Off off = 0;
    Dwarf_Error err = nullptr;
    if (dwarf_dietype_offset(d, &off, &err) != DW_DLV_OK) return std::nullopt;
    return off;
  }

  static std::optional<Dwarf_Unsigned> udata_attr(Dwarf_Die d, Dwarf_Half at) {
    Dwarf_Attribute attr = nullptr;
    Dwarf_Error err = nullptr;
    if (dwarf_attr(d, at, &attr, &err) != DW_DLV_OK) return std::nullopt;
    Dwarf_Unsigned u = 0;
    int rc = dwarf_formudata(attr, &u, &err);
    if (rc != DW_DLV_OK) {
      Dwarf_Signed s = 0;
      rc = dwarf_formsdata(attr, &s, &err);
      u = static_cast<Dwarf_Unsigned>(s);
    }
    dwarf_dealloc_attribute(attr);
    if (rc != DW_DLV_OK) return std::nullopt;
    return u;
  }

  static bool flag_attr(Dwarf_Die d, Dwarf_Half at) {
    Dwarf_Attribute attr = nullptr;
    Dwarf_Error err = nullptr;
    if (dwarf_attr(d, at, &attr, &err) != DW_DLV_OK) return false;
    Dwarf_Bool b = 0;
    int rc = dwarf_formflag(attr, &b, &err);
    dwarf_dealloc_attribute(attr);
    return rc == DW_DLV_OK && b;
  }

  void for_children(Dwarf_Die parent, const std::function<void(Dwarf_Die)>& fn) const {
    Dwarf_Die child = nullptr;
    Dwarf_Error err = nullptr;
    if (dwarf_child(parent, &child, &err) != DW_DLV_OK) return;
    Die cur(child);
    while (cur) {
      fn(cur.get());
      Dwarf_Die sib = nullptr;
      if (dwarf_siblingof_b(dbg, cur.get(), true, &sib, &err) != DW_DLV_OK) break;
      cur = Die(sib);
    }
  }

  // The element count of an array type DIE (DW_AT_count, or DW_AT_upper_bound + 1).
  std::optional<Dwarf_Unsigned> array_count(Dwarf_Die array) const {
    std::optional<Dwarf_Unsigned> count;
    for_children(array, [&](Dwarf_Die sub) {
      if (count) return;
      count = udata_attr(sub, DW_AT_count);
      if (!count) {
        if (auto ub = udata_attr(sub, DW_AT_upper_bound)) count = *ub + 1;
      }
    });
    return count;
  }

  // Follows typedefs and qualifiers to the underlying type DIE.
  Die resolve(Dwarf_Off off, int depth = 0) const {
    Die d = at(off);
    if (!d || depth > 16) return d;
    Dwarf_Half t = tag(d);
    if (t == DW_TAG_typedef || t == DW_TAG_const_type || t == DW_TAG_volatile_type) {
      auto next = type_of(d.get());
      if (next) return resolve(*next, depth + 1);
    }
    return d;
  }

  // Register classes of one value of type `off`, in order (Go's ABI assigns struct fields,
  // string/slice/interface words in sequence). False when the type needs the stack.
  bool classify(Dwarf_Off off, std::vector<bool>* is_float, int depth = 0) const {
    if (depth > 32) return false;
    Die d = resolve(off);
    if (!d) return false;
    Dwarf_Half t = tag(d);
    auto size = udata_attr(d.get(), DW_AT_byte_size).value_or(8);
    switch (t) {
      case DW_TAG_base_type: {
        auto enc = udata_attr(d.get(), DW_AT_encoding).value_or(0);
        if (size == 0) return true;
        if (enc == DW_ATE_float) { is_float->push_back(true); return true; }
        if (enc == DW_ATE_complex_float) { is_float->insert(is_float->end(), 2, true); return true; }
        if (size > 8) return false;
        is_float->push_back(false);
        return true;
      }
      case DW_TAG_pointer_type:
      case DW_TAG_subroutine_type:
        is_float->push_back(false);
        return true;
      case DW_TAG_structure_type: {
        bool ok = true;
        for_children(d.get(), [&](Dwarf_Die m) {
          if (!ok) return;
          Dwarf_Half mt = 0;
          Dwarf_Error err = nullptr;
          dwarf_tag(m, &mt, &err);
          if (mt != DW_TAG_member) return;
          auto mtype = type_of(m);
          ok = mtype && classify(*mtype, is_float, depth + 1);
        });
        return ok;
      }
      case DW_TAG_array_type: {
        const std::optional<Dwarf_Unsigned> count = array_count(d.get());
        if (!count) return false;
        if (*count == 0) return true;
        auto elem = type_of(d.get());
        if (*count == 1 && elem) return classify(*elem, is_float, depth + 1);
        return false;
      }
      default:
        return false;
    }
  }

  // Appends to *out the offsets (from `base`) of the pointer words of one value of type `off`.
  void pointers(Dwarf_Off off, int64_t base, std::vector<int64_t>* out, int depth = 0) const {
    Die d = resolve(off);
    const int64_t size = d ? static_cast<int64_t>(udata_attr(d.get(), DW_AT_byte_size).value_or(8)) : 8;
    const auto every_word = [&] {
      for (int64_t w = (base + 7) & ~int64_t{7}; w + 8 <= base + size; w += 8) out->push_back(w);
    };
    if (!d || depth > 32) return every_word();
    switch (tag(d)) {
      case DW_TAG_base_type:
        return;
      case DW_TAG_pointer_type:
      case DW_TAG_subroutine_type:
        out->push_back(base);
        return;
      case DW_TAG_structure_type:
        for_children(d.get(), [&](Dwarf_Die m) {
          Dwarf_Half mt = 0;
          Dwarf_Error err = nullptr;
          dwarf_tag(m, &mt, &err);
          if (mt != DW_TAG_member) return;
          auto loc = udata_attr(m, DW_AT_data_member_location);
          auto mtype = type_of(m);
          if (!loc || !mtype) return every_word();  // cannot place it: the whole struct counts
          pointers(*mtype, base + static_cast<int64_t>(*loc), out, depth + 1);
        });
        return;
      case DW_TAG_array_type: {
        const std::optional<Dwarf_Unsigned> count = array_count(d.get());
        auto elem = type_of(d.get());
        if (!count || !elem) return every_word();
        if (*count == 0) return;
        const int64_t stride = size / static_cast<int64_t>(*count);
        std::vector<int64_t> one;
        pointers(*elem, 0, &one, depth + 1);
        for (Dwarf_Unsigned i = 0; i < *count; i++) {
          for (int64_t w : one) out->push_back(base + static_cast<int64_t>(i) * stride + w);
        }
        return;
      }
      default:
        return every_word();
    }
  }
};

DwarfTypes::~DwarfTypes() = default;

Result<std::unique_ptr<DwarfTypes>> DwarfTypes::load(const std::string& path, const DwarfWanted& wanted) {
  std::unique_ptr<DwarfTypes> self(new DwarfTypes());
  self->impl_ = std::make_unique<Impl>();
  Impl& im = *self->impl_;
  Dwarf_Error err = nullptr;
  int rc = dwarf_init_path(path.c_str(), nullptr, 0, DW_DLC_READ, DW_GROUPNUMBER_ANY, nullptr, nullptr,
                           &im.dbg, nullptr, 0, nullptr, &err);
  if (rc == DW_DLV_NO_ENTRY) {
    return make_error(fmt::format("{} has no DWARF debug information", path),
                      "build without -ldflags=-w, or rely on the stripped-binary tables");
  }
  if (rc != DW_DLV_OK) {
    std::string msg = err ? dwarf_errmsg(err) : "unknown error";
    if (err) dwarf_dealloc_error(im.dbg, err);
    im.dbg = nullptr;
    return make_error(fmt::format("cannot read the DWARF of {}: {}", path, msg),
                      "the binary may be corrupt; rebuild it");
  }

  Dwarf_Unsigned next_cu = 0;
  while (true) {
    Dwarf_Unsigned cu_len = 0, type_off = 0;
    Dwarf_Half version = 0, addr_size = 0, len_size = 0, ext_size = 0, cu_type = 0;
    Dwarf_Off abbrev = 0;
    Dwarf_Sig8 sig;
    rc = dwarf_next_cu_header_d(im.dbg, true, &cu_len, &version, &abbrev, &addr_size, &len_size,
                                &ext_size, &sig, &type_off, &next_cu, &cu_type, &err);
    if (rc == DW_DLV_NO_ENTRY) break;
    if (rc != DW_DLV_OK) {
      return make_error(fmt::format("cannot read the DWARF compile units of {}", path),
                        "the binary may be corrupt; rebuild it");
    }
    Dwarf_Die cu = nullptr;
    if (dwarf_siblingof_b(im.dbg, nullptr, true, &cu, &err) != DW_DLV_OK) continue;
    Die cu_die(cu);
    im.for_children(cu, [&](Dwarf_Die d) {
      Dwarf_Half t = 0;
      dwarf_tag(d, &t, &err);
      if (t != DW_TAG_structure_type && t != DW_TAG_subprogram && t != DW_TAG_variable &&
          t != DW_TAG_constant) {
        return;
      }
      std::string n = Impl::name(d);
      if (n.empty()) return;
      Dwarf_Off off = 0;
      dwarf_dieoffset(d, &off, &err);
      if (t == DW_TAG_structure_type && wanted.structs.count(n)) {
        im.structs.emplace(n, off);
      } else if (t == DW_TAG_subprogram && wanted.functions.count(n)) {
        im.functions.emplace(n, off);
      } else if (t == DW_TAG_constant && !wanted.constant_prefix.empty() &&
                 n.compare(0, wanted.constant_prefix.size(), wanted.constant_prefix) == 0) {
        auto v = Impl::udata_attr(d, DW_AT_const_value);
        if (v) self->constants_.emplace(n, static_cast<int64_t>(*v));
      } else if (t == DW_TAG_variable && wanted.variables.count(n)) {
        Dwarf_Attribute attr = nullptr;
        if (dwarf_attr(d, DW_AT_location, &attr, &err) != DW_DLV_OK) return;
        // Go writes locations as DW_FORM_block1 (DWARF 4 would use exprloc): accept both.
        DwarfVariable var;
        bool got = false;
        Dwarf_Unsigned len = 0;
        Dwarf_Ptr expr = nullptr;
        Dwarf_Block* block = nullptr;
        if (dwarf_formexprloc(attr, &len, &expr, &err) == DW_DLV_OK) {
          got = len == 9 && static_cast<uint8_t*>(expr)[0] == DW_OP_addr;
          if (got) std::memcpy(&var.address, static_cast<uint8_t*>(expr) + 1, 8);
        } else if (dwarf_formblock(attr, &block, &err) == DW_DLV_OK) {
          auto* bytes = static_cast<uint8_t*>(block->bl_data);
          got = block->bl_len == 9 && bytes[0] == DW_OP_addr;
          if (got) std::memcpy(&var.address, bytes + 1, 8);
          dwarf_dealloc(im.dbg, block, DW_DLA_BLOCK);
        }
        dwarf_dealloc_attribute(attr);
        if (!got) return;
        if (auto ty = Impl::type_of(d)) {
          Die td = im.resolve(*ty);
          if (td) {
            var.byte_size = Impl::udata_attr(td.get(), DW_AT_byte_size).value_or(0);
            if (Impl::tag(td) == DW_TAG_array_type) var.array_count = im.array_count(td.get());
          }
        }
        im.variables.emplace(n, var);
      }
    });
  }
  return self;
}

std::optional<int64_t> DwarfTypes::member_offset(std::string_view struct_name, std::string_view path) const {
  auto it = impl_->structs.find(struct_name);
  if (it == impl_->structs.end()) return std::nullopt;
  Die cur = impl_->at(it->second);
  int64_t total = 0;
  while (!path.empty()) {
    size_t dot = path.find('.');
    std::string_view field = path.substr(0, dot);
    path = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
    if (!cur || Impl::tag(cur) != DW_TAG_structure_type) return std::nullopt;
    std::optional<int64_t> off;
    std::optional<Dwarf_Off> ftype;
    impl_->for_children(cur.get(), [&](Dwarf_Die m) {
      if (off || Impl::name(m) != field) return;
      auto loc = Impl::udata_attr(m, DW_AT_data_member_location);
      if (loc) {
        off = static_cast<int64_t>(*loc);
        ftype = Impl::type_of(m);
      }
    });
    if (!off) return std::nullopt;
    total += *off;
    if (!path.empty()) {
      if (!ftype) return std::nullopt;
      cur = impl_->resolve(*ftype);
    }
  }
  return total;
}

std::optional<std::vector<int64_t>> DwarfTypes::pointer_words(std::string_view struct_name) const {
  auto it = impl_->structs.find(struct_name);
  if (it == impl_->structs.end()) return std::nullopt;
  std::vector<int64_t> out;
  impl_->pointers(it->second, 0, &out);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::optional<std::vector<ArgLocation>> DwarfTypes::params(std::string_view function) const {
  auto it = impl_->functions.find(function);
  if (it == impl_->functions.end()) return std::nullopt;
  Die fn = impl_->at(it->second);
  if (!fn) return std::nullopt;
  std::vector<ArgLocation> out;
  // Arguments and results are assigned registers independently, each starting at RAX / X0.
  int next_int[2] = {0, 0}, next_float[2] = {0, 0};
  impl_->for_children(fn.get(), [&](Dwarf_Die p) {
    Dwarf_Half t = 0;
    Dwarf_Error err = nullptr;
    dwarf_tag(p, &t, &err);
    if (t != DW_TAG_formal_parameter) return;
    ArgLocation a;
    a.name = Impl::name(p);
    a.result = Impl::flag_attr(p, DW_AT_variable_parameter);
    int k = a.result ? 1 : 0;
    std::vector<bool> classes;
    auto ty = Impl::type_of(p);
    bool ok = ty && impl_->classify(*ty, &classes);
    int ni = 0, nf = 0;
    for (bool f : classes) (f ? nf : ni)++;
    if (!ok || next_int[k] + ni > kNumIntRegs || next_float[k] + nf > kNumFloatRegs) {
      a.on_stack = true;
    } else {
      for (bool f : classes) {
        a.regs.push_back(f ? fmt::format("X{}", next_float[k]++) : kIntRegs[next_int[k]++]);
      }
    }
    out.push_back(std::move(a));
  });
  return out;
}

std::optional<DwarfVariable> DwarfTypes::variable(std::string_view name) const {
  auto it = impl_->variables.find(name);
  if (it == impl_->variables.end()) return std::nullopt;
  return it->second;
}

}  // namespace gorepro
