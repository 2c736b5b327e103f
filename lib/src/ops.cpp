// lib/src/ops.cpp — the operation registry's lookup (ops.h), argument validation, claims and
// the generated protocol reference; the table itself is ops_table.cpp. Thread-safety: pure
// functions over the immutable table.
#include "blkgate/ops.h"

#include <limits.h>

#include <algorithm>
#include <cassert>

#include "blkgate/enum_names.h"
#include "ops_table.h"

namespace blkgate::ops {
namespace {

using Json = nlohmann::json;

// ---- validation -----------------------------------------------------------------------------

Result Bad(std::string_view key, std::string_view want) {
  return Result::InvalidArgument("argument '" + std::string(key) + "' must be " +
                                 std::string(want));
}

bool IsU64(const Json& v) {
  return v.is_number_unsigned() || (v.is_number_integer() && v.get<std::int64_t>() >= 0);
}

Result CheckString(std::string_view key, const Json& v) {
  if (!v.is_string()) return Bad(key, "a string");
  if (v.get_ref<const std::string&>().find('\0') != std::string::npos)
    return Bad(key, "free of NUL bytes");
  return Result::Ok();
}

// Checks one member against its spec; *out receives the normalised value.
Result CheckMember(const ArgSpec& a, const Json& v, Json* out) {
  *out = v;
  switch (a.type) {
    case ArgType::name:
      BLKGATE_TRY(CheckString(a.key, v));
      return ValidateName(a.kind, v.get_ref<const std::string&>());
    case ArgType::names:
      if (!v.is_array() || v.empty()) return Bad(a.key, "a list of names");
      for (const Json& e : v) {
        if (!e.is_string()) return Bad(a.key, "a list of names");
        BLKGATE_TRY(CheckString(a.key, e));
        BLKGATE_TRY(ValidateName(a.kind, e.get_ref<const std::string&>()));
      }
      return Result::Ok();
    case ArgType::object_ref:
    case ArgType::drive_status:
    case ArgType::backend:
      return CheckString(a.key, v);
    case ArgType::file:
    case ArgType::dir: {
      BLKGATE_TRY(CheckString(a.key, v));
      std::string norm;
      BLKGATE_TRY(NormalisePath(a.type == ArgType::file ? "drive path" : "access path",
                                v.get_ref<const std::string&>(), &norm));
      *out = norm;
      return Result::Ok();
    }
    case ArgType::mount_opts: {
      BLKGATE_TRY(CheckString(a.key, v));
      MountOptions o;
      BLKGATE_TRY(ParseMountOptions(v.get_ref<const std::string&>(), &o));
      *out = ToString(o);
      return Result::Ok();
    }
    case ArgType::size:
      return IsU64(v) ? Result::Ok() : Bad(a.key, "a non-negative integer");
    case ArgType::number: {
      if (!IsU64(v)) return Bad(a.key, "a non-negative integer");
      const std::uint64_t n = v.get<std::uint64_t>();
      if (n < a.min || n > a.max) return Result::InvalidArgument(std::string(a.range_message));
      return Result::Ok();
    }
    case ArgType::flag:
    case ArgType::on_off:
      return v.is_boolean() ? Result::Ok() : Bad(a.key, "true or false");
  }
  return Bad(a.key, "known");
}

}  // namespace

std::string_view ToString(Role r) noexcept {
  static constexpr std::array<std::string_view, 3> kNames = {"none", "operator", "root"};
  return NameOf(kNames, r);
}

std::span<const OpSpec> All() {
  return Table();
}

const OpSpec* Find(std::string_view name) {
  for (const OpSpec& op : Table())
    if (op.name == name) return &op;
  return nullptr;
}

Result NormalisePath(std::string_view what, std::string_view path, std::string* out) {
  if (path.empty() || path[0] != '/')
    return Result::InvalidArgument(std::string(what) + " must be absolute: '" + std::string(path) +
                                   "'");
  if (path.find('\0') != std::string_view::npos)
    return Result::InvalidArgument(std::string(what) + " must not contain NUL bytes");
  if (path.size() >= PATH_MAX)
    return Result::InvalidArgument(std::string(what) + " is longer than PATH_MAX");
  std::string norm;
  std::size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    const std::size_t end = std::min(path.find('/', i), path.size());
    const std::string_view part = path.substr(i, end - i);
    i = end;
    if (part.empty() || part == ".") continue;
    if (part == "..")
      return Result::InvalidArgument(std::string(what) + " must not contain '..': '" +
                                     std::string(path) + "'");
    norm += '/';
    norm += part;
  }
  *out = norm.empty() ? "/" : norm;
  return Result::Ok();
}

Result Validate(const OpSpec& op, const nlohmann::json& in, Args* out) {
  if (!in.is_object()) return Result::InvalidArgument("arguments must be an object");
  Args args;
  for (const ArgSpec& a : op.args) {
    if (a.local) continue;  // blkgatectl's own: never on the wire
    auto it = in.find(std::string(a.key));
    const bool present = it != in.end() && !it->is_null();
    if (a.type == ArgType::object_ref) {
      auto kind = in.find("kind");
      if (kind == in.end()) return Result::InvalidArgument("missing argument 'kind'");
      if (!kind->is_string()) return Bad("kind", "a string");
      Kind k;
      BLKGATE_TRY(ParseKind(kind->get_ref<const std::string&>(), &k));
      if (!present) return Result::InvalidArgument("missing argument 'name'");
      BLKGATE_TRY(CheckString(a.key, *it));
      BLKGATE_TRY(ValidateName(ToString(k), it->get_ref<const std::string&>()));
      args.j_["kind"] = *kind;
      args.j_[std::string(a.key)] = *it;
      continue;
    }
    if (!present) {
      if (a.required)
        return Result::InvalidArgument("missing argument '" + std::string(a.key) + "'");
      continue;
    }
    Json value;
    BLKGATE_TRY(CheckMember(a, *it, &value));
    args.j_[std::string(a.key)] = std::move(value);
  }
  for (const auto& item : in.items()) {
    const std::string& key = item.key();  // not a structured binding: clang 14's lambdas
    const bool known = std::any_of(op.args.begin(), op.args.end(), [&](const ArgSpec& a) {
      return !a.local && (a.key == key || (a.type == ArgType::object_ref && key == "kind"));
    });
    if (!known)
      return Result::InvalidArgument("unknown argument '" + key + "' for " + std::string(op.name));
  }
  *out = std::move(args);
  return Result::Ok();
}

std::vector<std::string> ClaimsOf(const OpSpec& op, const Args& args, const Catalog& snapshot) {
  switch (op.claim) {
    case ClaimRule::none:
      return {};
    case ClaimRule::object:
      return Footprint(snapshot, op.kind, args.Str("name"));
    case ClaimRule::resource:
      return Footprint(snapshot, args.ObjectKind(), args.Str("name"));
    case ClaimRule::new_volume:
      return {"volume/" + args.Str("name"), "disk/" + args.Str("disk")};
    case ClaimRule::all_drives: {
      std::vector<std::string> all;
      for (const auto& [n, d] : snapshot.drives()) all.push_back("drive/" + n);
      return all;
    }
  }
  return {};
}

// ---- Args -----------------------------------------------------------------------------------

const std::string& Args::Str(std::string_view key) const {
  auto it = j_.find(std::string(key));
  assert(it != j_.end() && it->is_string());
  return it->get_ref<const std::string&>();
}

std::uint64_t Args::U64(std::string_view key) const {
  auto it = j_.find(std::string(key));
  assert(it != j_.end() && IsU64(*it));
  return it->get<std::uint64_t>();
}

bool Args::Flag(std::string_view key) const {
  auto it = j_.find(std::string(key));
  return it != j_.end() && it->is_boolean() && it->get<bool>();
}

bool Args::Has(std::string_view key) const {
  return j_.contains(std::string(key));
}

std::vector<std::string> Args::Names(std::string_view key) const {
  std::vector<std::string> out;
  for (const Json& e : j_.at(std::string(key))) out.push_back(e.get<std::string>());
  return out;
}

Kind Args::ObjectKind() const {
  Kind k = Kind::volume;
  Result r = ParseKind(Str("kind"), &k);
  assert(r.ok());
  (void)r;
  return k;
}

// ---- the protocol reference -----------------------------------------------------------------

std::string OpsMarkdown() {
  std::string s = "| op | args | data | claims | who |\n|---|---|---|---|---|\n";
  for (const OpSpec& op : Table()) {
    std::string args;
    for (const ArgSpec& a : op.args) {
      if (a.local) continue;
      if (!args.empty()) args += ", ";
      if (a.type == ArgType::object_ref) args += "`kind`: drive/disk/volume, ";
      args += "`" + std::string(a.key) + "`";
      if (!a.required) args += "?";
      if (!a.help.empty()) args += " (" + std::string(a.help) + ")";
    }
    std::string data(op.data);
    if (data == "drive" || data == "disk" || data == "volume") data = "`" + data + "`";
    static constexpr std::string_view kClaims[] = {"–", "the object and its dependents",
                                                   "the object and its dependents (pending)",
                                                   "the volume and its disk", "every drive"};
    s += "| `" + std::string(op.name) + "` | " + (args.empty() ? "–" : args) + " | " + data +
         " | " + std::string(kClaims[static_cast<int>(op.claim)]) + " | " +
         (op.role == Role::operator_ ? "root, operator" : "root") + " |\n";
  }
  return s;
}

std::string ResultsMarkdown() {
  std::string s = "| result | exit | meaning |\n|---|---|---|\n";
  for (int i = 0; i < kCodeCount; ++i) {
    const Code c = static_cast<Code>(i);
    s += "| " + std::string(CodeName(c)) + " | " + std::to_string(CodeExitStatus(c)) + " | " +
         std::string(CodeMeaning(c)) + " |\n";
  }
  return s;
}

}  // namespace blkgate::ops
