// lib/src/catalog_json.cpp — the catalog's state-file form: Catalog::ToJson and FromJson.
//
// The reader trusts nothing in the text: it is parsed within a size and depth limit
// (json_parse.h), every member must be present and of its type (a null, a float, a negative
// or out-of-range number, or a list where an object belongs is corrupt, never a default),
// paths must be absolute and are normalised as at the protocol's edge (ops::NormalisePath),
// and the objects go through the Catalog's own mutators, which check names, references and
// extents. Pure; the caller serialises access to the Catalog.
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "blkgate/model.h"
#include "blkgate/ops.h"
#include "json_parse.h"

namespace blkgate {
namespace {

using nlohmann::json;

// One object of the file being read, and where it is ("volumes[2]"), for the messages.
class Reader {
 public:
  Reader(const json& obj, std::string where) : obj_(&obj), where_(std::move(where)) {}

  Result Get(std::string_view key, std::string* out) const {
    const json* v;
    BLKGATE_TRY(Find(key, &v));
    if (!v->is_string()) return Bad(key, "a string");
    *out = v->get<std::string>();
    return Result::Ok();
  }
  Result Get(std::string_view key, bool* out) const {
    const json* v;
    BLKGATE_TRY(Find(key, &v));
    if (!v->is_boolean()) return Bad(key, "true or false");
    *out = v->get<bool>();
    return Result::Ok();
  }
  // Integers of type T only: no float, no wrap-around into T.
  template <typename T>
  Result Get(std::string_view key, T* out) const {
    static_assert(std::numeric_limits<T>::is_integer && sizeof(T) <= sizeof(std::int64_t));
    const json* v;
    BLKGATE_TRY(Find(key, &v));
    constexpr auto lo = static_cast<std::int64_t>(std::numeric_limits<T>::min());
    constexpr auto hi = static_cast<std::uint64_t>(std::numeric_limits<T>::max());
    bool fits = false;
    if (v->is_number_unsigned()) {
      fits = v->get<std::uint64_t>() <= hi;
    } else if (v->is_number_integer()) {  // negative: nlohmann keeps 0.. as unsigned
      fits = v->get<std::int64_t>() >= lo;
    }
    if (!fits)
      return Bad(key, "an integer from " + std::to_string(std::numeric_limits<T>::min()) + " to " +
                          std::to_string(std::numeric_limits<T>::max()));
    *out = v->get<T>();
    return Result::Ok();
  }
  Result Get(std::string_view key, std::vector<std::string>* out) const {
    const json* v;
    BLKGATE_TRY(Find(key, &v));
    std::vector<std::string> list;
    if (!v->is_array()) return Bad(key, "a list of strings");
    for (const json& e : *v) {
      if (!e.is_string()) return Bad(key, "a list of strings");
      list.push_back(e.get<std::string>());
    }
    *out = std::move(list);
    return Result::Ok();
  }
  // A member that must be a list (Each checks its elements) or an object.
  Result Array(std::string_view key, const json** out) const {
    BLKGATE_TRY(Find(key, out));
    return (*out)->is_array() ? Result::Ok() : Bad(key, "a list");
  }
  Result Object(std::string_view key, Reader* out) const {
    const json* v;
    BLKGATE_TRY(Find(key, &v));
    if (!v->is_object()) return Bad(key, "an object");
    *out = Reader(*v, where_ + "." + std::string(key));
    return Result::Ok();
  }
  // A path as the protocol's edge would accept it, normalised.
  Result Path(std::string_view what, std::string* path) const {
    std::string norm;
    if (Result r = ops::NormalisePath(what, *path, &norm); !r.ok()) return Refused(r);
    *path = std::move(norm);
    return Result::Ok();
  }
  // The problem of an object that was read well but refused (its code kept, where added).
  Result Refused(const Result& r) const {
    return Result::Error(r.code(), where_ + ": " + r.message());
  }

  const json& obj() const { return *obj_; }

 private:
  Result Find(std::string_view key, const json** out) const {
    auto it = obj_->find(key);
    if (it == obj_->end())
      return Result::InvalidArgument(where_ + ": missing \"" + std::string(key) + "\"");
    *out = &*it;
    return Result::Ok();
  }
  Result Bad(std::string_view key, std::string_view want) const {
    return Result::InvalidArgument(where_ + "." + std::string(key) + " must be " +
                                   std::string(want));
  }

  const json* obj_;  // never null
  std::string where_;
};

// Calls read(Reader) for each element of the list `key` of the top level, each an object.
template <typename F>
Result Each(const Reader& top, std::string_view key, F read) {
  const json* list;
  BLKGATE_TRY(top.Array(key, &list));
  for (std::size_t i = 0; i < list->size(); ++i) {
    std::string where = std::string(key) + "[" + std::to_string(i) + "]";
    if (!(*list)[i].is_object()) return Result::InvalidArgument(where + " must be an object");
    BLKGATE_TRY(read(Reader((*list)[i], std::move(where))));
  }
  return Result::Ok();
}

Result ReadDrive(const Reader& in, Catalog* c) {
  Drive d;
  std::string status;
  Reader id(in.obj(), "");  // set to the "identity" member below
  BLKGATE_TRY(in.Get("name", &d.name));
  BLKGATE_TRY(in.Get("path", &d.path));
  BLKGATE_TRY(in.Path("drive path", &d.path));
  BLKGATE_TRY(in.Get("size", &d.size));
  BLKGATE_TRY(in.Get("status", &status));
  if (Result r = ParseDriveStatus(status, &d.status); !r.ok()) return in.Refused(r);
  BLKGATE_TRY(in.Object("identity", &id));
  BLKGATE_TRY(id.Get("dev", &d.identity.dev));
  BLKGATE_TRY(id.Get("ino", &d.identity.ino));
  BLKGATE_TRY(id.Get("block_device", &d.identity.block_device));
  if (Result r = c->AddDrive(std::move(d)); !r.ok()) return in.Refused(r);
  return Result::Ok();
}

Result ReadDisk(const Reader& in, Catalog* c) {
  std::string name;
  std::vector<std::string> drives;
  bool offline = false, read_only = false;
  BLKGATE_TRY(in.Get("name", &name));
  BLKGATE_TRY(in.Get("drives", &drives));
  BLKGATE_TRY(in.Get("offline", &offline));
  BLKGATE_TRY(in.Get("read_only", &read_only));
  if (Result r = c->CreateDisk(name, std::move(drives)); !r.ok()) return in.Refused(r);
  c->disk(name)->offline = offline;
  c->disk(name)->read_only = read_only;
  return Result::Ok();
}

// A volume's "access_paths": each {"path", "options"}, or a plain path string (the form before
// access paths had options: the default options).
Result ReadAccessPaths(const Reader& in, std::vector<AccessPath>* out) {
  const json* list;
  BLKGATE_TRY(in.Array("access_paths", &list));
  std::vector<AccessPath> paths;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const json& e = (*list)[i];
    const Reader at(e, "access_paths[" + std::to_string(i) + "]");
    AccessPath ap;
    if (e.is_string()) {
      ap.path = e.get<std::string>();
    } else if (e.is_object()) {
      std::string options;
      BLKGATE_TRY(at.Get("path", &ap.path));
      BLKGATE_TRY(at.Get("options", &options));
      if (Result r = ParseMountOptions(options, &ap.options); !r.ok())
        return at.Refused(r.Prefixed("access path " + ap.path));
    } else {
      return in.Refused(Result::InvalidArgument("access_paths[" + std::to_string(i) +
                                                "] must be a path or an object"));
    }
    BLKGATE_TRY(in.Path("access path", &ap.path));
    paths.push_back(std::move(ap));
  }
  *out = std::move(paths);
  return Result::Ok();
}

Result ReadVolume(const Reader& in, Catalog* c) {
  Volume v;
  std::string backend, dismount;
  BLKGATE_TRY(in.Get("name", &v.name));
  BLKGATE_TRY(in.Get("disk", &v.disk));
  BLKGATE_TRY(in.Get("offset", &v.offset));
  BLKGATE_TRY(in.Get("size", &v.size));
  BLKGATE_TRY(in.Get("queues", &v.queues));
  BLKGATE_TRY(in.Get("depth", &v.depth));
  BLKGATE_TRY(in.Get("backend", &backend));
  if (Result r = ParseBackend(backend, &v.backend); !r.ok()) return in.Refused(r);
  BLKGATE_TRY(in.Get("offline", &v.offline));
  BLKGATE_TRY(in.Get("system", &v.system));
  BLKGATE_TRY(in.Get("dismount", &dismount));
  if (Result r = ParseDismount(dismount, &v.dismount); !r.ok()) return in.Refused(r);
  BLKGATE_TRY(ReadAccessPaths(in, &v.access_paths));
  // Optional (absent in early state files); -1: never served.
  if (in.obj().contains("dev_id")) {
    BLKGATE_TRY(in.Get("dev_id", &v.dev_id));
    if (v.dev_id < -1) return in.Refused(Result::InvalidArgument("dev_id must be -1 or more"));
  }
  if (in.obj().contains("recoveries"))  // optional: absent before crash recovery
    BLKGATE_TRY(in.Get("recoveries", &v.recoveries));
  if (Result r = c->CreateVolume(std::move(v)); !r.ok()) return in.Refused(r);
  return Result::Ok();
}

}  // namespace

std::string Catalog::ToJson() const {
  json j;
  j["format"] = "blkgate-state";
  j["version"] = 1;
  json drives = json::array();
  for (const auto& [n, d] : drives_)
    drives.push_back({{"name", d.name},
                      {"path", d.path},
                      {"size", d.size},
                      {"status", ToString(d.status)},
                      {"identity",
                       {{"dev", d.identity.dev},
                        {"ino", d.identity.ino},
                        {"block_device", d.identity.block_device}}}});
  json disks = json::array();
  for (const auto& [n, k] : disks_)
    disks.push_back({{"name", k.name},
                     {"drives", k.drives},
                     {"offline", k.offline},
                     {"read_only", k.read_only}});
  json volumes = json::array();
  for (const auto& [n, v] : volumes_) {
    json access_paths = json::array();
    for (const AccessPath& ap : v.access_paths)
      access_paths.push_back({{"path", ap.path}, {"options", ToString(ap.options)}});
    volumes.push_back({{"name", v.name},
                       {"disk", v.disk},
                       {"offset", v.offset},
                       {"size", v.size},
                       {"queues", v.queues},
                       {"depth", v.depth},
                       {"backend", ToString(v.backend)},
                       {"offline", v.offline},
                       {"system", v.system},
                       {"dismount", ToString(v.dismount)},
                       {"access_paths", access_paths},
                       {"dev_id", v.dev_id},
                       {"recoveries", v.recoveries}});
  }
  j["drives"] = std::move(drives);
  j["disks"] = std::move(disks);
  j["volumes"] = std::move(volumes);
  return j.dump(2) + "\n";
}

Result Catalog::FromJson(std::string_view text) {
  json j;
  if (Result r = ParseJsonLimited(text, {kMaxStateBytes, kMaxStateDepth}, &j); !r.ok())
    return Result::InvalidArgument("the file " + r.message());
  if (!j.is_object()) return Result::InvalidArgument("not a blkgate state file (not an object)");
  const Reader top(j, "state");
  std::string format;
  if (!top.Get("format", &format).ok() || format != "blkgate-state")
    return Result::InvalidArgument(
        "not a blkgate state file (\"format\" is not \"blkgate-state\")");
  const auto version = j.find("version");
  if (version == j.end() || !version->is_number_integer() || version->get<std::int64_t>() != 1)
    return Result::InvalidArgument(
        "unsupported state version " +
        (version == j.end() ? std::string("(none)")
                            : version->dump(-1, ' ', false, json::error_handler_t::replace)));
  Catalog c;
  try {
    BLKGATE_TRY(Each(top, "drives", [&](const Reader& r) { return ReadDrive(r, &c); }));
    BLKGATE_TRY(Each(top, "disks", [&](const Reader& r) { return ReadDisk(r, &c); }));
    BLKGATE_TRY(Each(top, "volumes", [&](const Reader& r) { return ReadVolume(r, &c); }));
  } catch (const std::exception& e) {  // out of memory; the reader itself throws nothing
    return Result::InvalidArgument(std::string("cannot be read: ") + e.what());
  }
  *this = std::move(c);
  return Result::Ok();
}

}  // namespace blkgate
