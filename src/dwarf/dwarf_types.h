// DwarfTypes: the runtime facts gorepro needs from a Go binary's DWARF — struct field offsets
// (runtime.g and friends), function parameters with the registers Go's register ABI assigns
// them, global variable addresses and runtime constants. Built in one pass over the top-level
// DIEs of every compile unit, for the names asked for only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace gorepro {

// Where one argument or result of a Go function lives at entry (arguments) or return (results)
// under ABIInternal on amd64.
struct ArgLocation {
  std::string name;
  bool result = false;
  std::vector<std::string> regs;  // e.g. {"RAX"}; a string uses two, a slice three
  bool on_stack = false;          // did not fit in registers (or is of a form we don't assign)
};

struct DwarfVariable {
  uint64_t address = 0;
  uint64_t byte_size = 0;
  std::optional<uint64_t> array_count;  // when the variable is an array
};

struct DwarfWanted {
  std::set<std::string> structs;    // "runtime.g"
  std::set<std::string> functions;  // "runtime.newproc1"
  std::set<std::string> variables;  // "runtime.waitReasonStrings"
  std::string constant_prefix;      // "runtime." collects every runtime constant
};

class DwarfTypes {
 public:
  // Error when the file has no DWARF or libdwarf cannot read it.
  static Result<std::unique_ptr<DwarfTypes>> load(const std::string& path, const DwarfWanted& wanted);
  ~DwarfTypes();

  // Offset of a (possibly nested, dotted) field: member_offset("runtime.g", "sched.sp").
  std::optional<int64_t> member_offset(std::string_view struct_name, std::string_view path) const;
  // Parameters then results, in declaration order, with their ABI registers.
  std::optional<std::vector<ArgLocation>> params(std::string_view function) const;
  // The offsets of the words of a struct that the Go GC treats as pointers (pointers, unsafe
  // Pointers, funcs, chans, maps; the pointer words of strings, slices and interfaces), in
  // increasing order — what the compiler's pointer mask for the type says. A member whose type
  // cannot be classified counts all its words as pointers (never fewer than the GC's).
  std::optional<std::vector<int64_t>> pointer_words(std::string_view struct_name) const;
  std::optional<DwarfVariable> variable(std::string_view name) const;
  const std::map<std::string, int64_t>& constants() const { return constants_; }

 private:
  struct Impl;
  DwarfTypes() = default;
  std::unique_ptr<Impl> impl_;
  std::map<std::string, int64_t> constants_;
};

}  // namespace gorepro
