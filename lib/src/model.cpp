#include "blkgate/model.h"

#include <algorithm>

#include <set>
#include "blkgate/enum_names.h"
#include "blkgate/gate.h"

namespace blkgate {
namespace {

template <typename Map>
auto* FindIn(Map& m, std::string_view name) {
  auto it = m.find(name);
  return it == m.end() ? nullptr : &it->second;
}

}  // namespace

constexpr std::array<std::string_view, 4> kDriveStatusNames = {"online", "offline", "failed",
                                                               "not-ready"};
constexpr std::array<std::string_view, 3> kBackendNames = {"file", "null", "mem"};
constexpr std::array<std::string_view, 3> kDismountNames = {"none", "temporary", "permanent"};

std::string_view ToString(DriveStatus s) noexcept {
  return NameOf(kDriveStatusNames, s);
}

std::string_view ToString(BackendKind b) noexcept {
  return NameOf(kBackendNames, b);
}

std::string_view ToString(Dismount d) noexcept {
  return NameOf(kDismountNames, d);
}

Result ParseDriveStatus(std::string_view s, DriveStatus* out) {
  return ParseByName(s, kDriveStatusNames, "drive status", out);
}

Result ParseBackend(std::string_view s, BackendKind* out) {
  return ParseByName(s, kBackendNames, "backend", out);
}

Result ParseDismount(std::string_view s, Dismount* out) {
  return ParseByName(s, kDismountNames, "dismount state", out);
}

// ---- mount options ----------------------------------------------------------------------------

std::string ToString(const MountOptions& o) {
  std::string s = "nosuid,nodev";
  if (o.read_only) s += ",ro";
  if (o.noexec) s += ",noexec";
  if (o.atime == Atime::noatime) s += ",noatime";
  if (o.atime == Atime::strictatime) s += ",strictatime";
  if (o.nodiratime) s += ",nodiratime";
  return s;
}

Result ParseMountOptions(std::string_view text, MountOptions* out) {
  if (text.empty()) return Result::InvalidArgument("empty mount options");
  MountOptions o;
  std::size_t i = 0;
  while (i <= text.size()) {
    const std::size_t end = std::min(text.find(',', i), text.size());
    const std::string_view opt = text.substr(i, end - i);
    i = end + 1;
    if (opt == "ro" || opt == "rw") {
      o.read_only = opt == "ro";
    } else if (opt == "noexec" || opt == "exec") {
      o.noexec = opt == "noexec";
    } else if (opt == "relatime") {
      o.atime = Atime::relatime;
    } else if (opt == "noatime") {
      o.atime = Atime::noatime;
    } else if (opt == "strictatime") {
      o.atime = Atime::strictatime;
    } else if (opt == "nodiratime") {
      o.nodiratime = true;
    } else if (opt == "nosuid" || opt == "nodev") {
      // always set
    } else if (opt == "suid" || opt == "dev") {
      return Result::InvalidArgument("mount option '" + std::string(opt) +
                                     "' is never allowed: access paths are always mounted "
                                     "nosuid,nodev");
    } else if (opt.empty()) {
      return Result::InvalidArgument("empty mount option in '" + std::string(text) + "'");
    } else {
      return Result::InvalidArgument(
          "unknown mount option '" + std::string(opt) +
          "' (allowed: ro, rw, noexec, exec, nosuid, nodev, relatime, noatime, strictatime, "
          "nodiratime)");
    }
  }
  *out = o;
  return Result::Ok();
}

const AccessPath* Volume::FindAccessPath(std::string_view dir) const {
  for (const AccessPath& p : access_paths)
    if (p.path == dir) return &p;
  return nullptr;
}

Result ValidateName(std::string_view kind, std::string_view name) {
  auto bad = [&](std::string_view why) {
    return Result::InvalidArgument("bad " + std::string(kind) + " name '" + std::string(name) +
                                   "': " + std::string(why));
  };
  if (name.empty()) return bad("empty");
  if (name.size() > 64) return bad("longer than 64 characters");
  if (name[0] == '.' || name[0] == '-') return bad("must not start with '.' or '-'");
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return bad("only letters, digits, '.', '_' and '-' are allowed");
  }
  return Result::Ok();
}

// ---- drives ---------------------------------------------------------------------------------

Result Catalog::AddDrive(Drive d) {
  BLKGATE_TRY(ValidateName("drive", d.name));
  if (drives_.count(d.name)) return Result::Duplicate("drive", d.name);
  if (d.path.empty()) return Result::InvalidArgument("drive '" + d.name + "': empty path");
  if (d.size == 0) return Result::InvalidArgument("drive '" + d.name + "': size is 0");
  if (d.size % kSectorSize)
    return Result::InvalidArgument("drive '" + d.name + "': size " + std::to_string(d.size) +
                                   " is not a multiple of 512");
  for (const auto& [n, other] : drives_)
    if (other.path == d.path)
      return Result::DeviceInUse("path " + d.path + " is already drive '" + n + "'");
  std::string name = d.name;
  drives_.emplace(std::move(name), std::move(d));
  return Result::Ok();
}

Result Catalog::RemoveDrive(std::string_view name) {
  auto it = drives_.find(name);
  if (it == drives_.end()) return Result::Missing("drive", name);
  if (const Disk* k = DiskOfDrive(name))
    return Result::DeviceInUse("drive '" + std::string(name) + "' is in use by disk '" + k->name +
                               "'");
  drives_.erase(it);
  return Result::Ok();
}

// ---- disks ----------------------------------------------------------------------------------

Result Catalog::CreateDisk(std::string name, std::vector<std::string> drive_names) {
  BLKGATE_TRY(ValidateName("disk", name));
  if (disks_.count(name)) return Result::Duplicate("disk", name);
  if (drive_names.empty()) return Result::InvalidArgument("disk '" + name + "': no drives given");
  if (drive_names.size() > static_cast<std::size_t>(kMaxDrivesPerDisk))
    return Result::InvalidArgument("disk '" + name + "': more than " +
                                   std::to_string(kMaxDrivesPerDisk) + " drives");
  std::set<std::string_view> seen;
  for (const auto& d : drive_names) {
    if (!drives_.count(d)) return Result::Missing("drive", d);
    if (!seen.insert(d).second)
      return Result::InvalidArgument("disk '" + name + "': drive '" + d + "' listed twice");
    if (const Disk* k = DiskOfDrive(d))
      return Result::DeviceInUse("drive '" + d + "' is in use by disk '" + k->name + "'");
  }
  Disk disk{name, std::move(drive_names), false, false};
  disks_.emplace(std::move(name), std::move(disk));
  return Result::Ok();
}

Result Catalog::DeleteDisk(std::string_view name) {
  auto it = disks_.find(name);
  if (it == disks_.end()) return Result::Missing("disk", name);
  auto vols = VolumesOnDisk(name);
  if (!vols.empty())
    return Result::DeviceInUse("disk '" + std::string(name) + "' has volumes (first: '" +
                               vols[0]->name + "')");
  disks_.erase(it);
  return Result::Ok();
}

std::uint64_t Catalog::DiskSize(std::string_view name) const {
  const Disk* k = disk(name);
  if (!k) return 0;
  std::uint64_t total = 0;
  for (const auto& d : k->drives)
    if (const Drive* dr = drive(d)) total += dr->size;
  return total;
}

// ---- volumes --------------------------------------------------------------------------------

Result Catalog::CreateVolume(Volume v) {
  BLKGATE_TRY(ValidateName("volume", v.name));
  if (volumes_.count(v.name)) return Result::Duplicate("volume", v.name);
  if (!disks_.count(v.disk)) return Result::Missing("disk", v.disk);
  const std::string who = "volume '" + v.name + "': ";
  if (v.size == 0) return Result::InvalidArgument(who + "size is 0");
  if (v.size % kSectorSize) return Result::InvalidArgument(who + "size is not a multiple of 512");
  if (v.offset % kSectorSize)
    return Result::InvalidArgument(who + "offset is not a multiple of 512");
  if (v.queues > kMaxQueues)
    return Result::InvalidArgument(who + "queues must be 1.." + std::to_string(kMaxQueues));
  if (v.depth == 0 || v.depth > kMaxDepth || (v.depth & (v.depth - 1)))
    return Result::InvalidArgument(who + "depth must be a power of two in 1.." +
                                   std::to_string(kMaxDepth));
  std::uint64_t dsize = DiskSize(v.disk);
  if (v.offset >= dsize || v.size > dsize - v.offset)
    return Result::InvalidArgument(
        who + "extent [" + std::to_string(v.offset) + ", " + std::to_string(v.offset + v.size) +
        ") is past the end of disk '" + v.disk + "' (" + std::to_string(dsize) + " bytes)");
  for (const Volume* o : VolumesOnDisk(v.disk))
    if (v.offset < o->offset + o->size && o->offset < v.offset + v.size)
      return Result::InvalidArgument(who + "extent overlaps volume '" + o->name + "'");
  std::string name = v.name;
  volumes_.emplace(std::move(name), std::move(v));
  return Result::Ok();
}

Result Catalog::DeleteVolume(std::string_view name) {
  auto it = volumes_.find(name);
  if (it == volumes_.end()) return Result::Missing("volume", name);
  volumes_.erase(it);
  return Result::Ok();
}

Result Catalog::FindFreeExtent(std::string_view disk_name, std::uint64_t size, std::uint64_t align,
                               std::uint64_t* offset) const {
  if (!disk(disk_name)) return Result::Missing("disk", disk_name);
  if (size == 0) {  // create_volume reports the bad size
    *offset = 0;
    return Result::Ok();
  }
  std::vector<const Volume*> vols = VolumesOnDisk(disk_name);
  std::sort(vols.begin(), vols.end(),
            [](const Volume* a, const Volume* b) { return a->offset < b->offset; });
  const std::uint64_t dsize = DiskSize(disk_name);
  auto up = [align](std::uint64_t x) { return (x + align - 1) & ~(align - 1); };
  std::uint64_t candidate = 0;
  for (const Volume* v : vols) {
    if (candidate <= dsize && size <= dsize - candidate && candidate + size <= v->offset) break;
    candidate = std::max(candidate, up(v->offset + v->size));
  }
  if (candidate > dsize || size > dsize - candidate)
    return Result::InvalidArgument("no free extent of " + std::to_string(size) +
                                   " bytes on disk '" + std::string(disk_name) + "'");
  *offset = candidate;
  return Result::Ok();
}

std::vector<Segment> Catalog::Segments(const Volume& v) const {
  std::vector<Segment> out;
  const Disk* k = disk(v.disk);
  if (!k) return out;
  std::uint64_t disk_pos = 0;  // start of the current drive within the disk
  const std::uint64_t begin = v.offset, end = v.offset + v.size;
  for (std::size_t i = 0; i < k->drives.size(); ++i) {
    const Drive* d = drive(k->drives[i]);
    if (!d) break;
    std::uint64_t dbeg = disk_pos, dend = disk_pos + d->size;
    std::uint64_t lo = std::max(begin, dbeg), hi = std::min(end, dend);
    if (lo < hi)
      out.push_back(Segment{d->name, static_cast<int>(i), lo - begin, lo - dbeg, hi - lo});
    disk_pos = dend;
  }
  return out;
}

// ---- lookup ---------------------------------------------------------------------------------

const Drive* Catalog::drive(std::string_view n) const {
  return FindIn(drives_, n);
}
const Disk* Catalog::disk(std::string_view n) const {
  return FindIn(disks_, n);
}
const Volume* Catalog::volume(std::string_view n) const {
  return FindIn(volumes_, n);
}
Drive* Catalog::drive(std::string_view n) {
  return FindIn(drives_, n);
}
Disk* Catalog::disk(std::string_view n) {
  return FindIn(disks_, n);
}
Volume* Catalog::volume(std::string_view n) {
  return FindIn(volumes_, n);
}

const Disk* Catalog::DiskOfDrive(std::string_view drive) const {
  for (const auto& [n, k] : disks_)
    if (std::find(k.drives.begin(), k.drives.end(), drive) != k.drives.end()) return &k;
  return nullptr;
}

std::vector<const Volume*> Catalog::VolumesOnDisk(std::string_view disk) const {
  std::vector<const Volume*> out;
  for (const auto& [n, v] : volumes_)
    if (v.disk == disk) out.push_back(&v);
  return out;
}

namespace {

template <typename Map>
void ReplaceInPlace(Map& cur, Map& next) {
  for (auto it = cur.begin(); it != cur.end();)
    it = next.count(it->first) ? std::next(it) : cur.erase(it);
  for (auto& [name, obj] : next) {
    auto [it, added] = cur.try_emplace(name, std::move(obj));
    if (!added) it->second = std::move(obj);
  }
}

}  // namespace

void Catalog::Replace(Catalog next) {
  ReplaceInPlace(drives_, next.drives_);
  ReplaceInPlace(disks_, next.disks_);
  ReplaceInPlace(volumes_, next.volumes_);
}

bool Catalog::operator==(const Catalog& o) const {
  return ToJson() == o.ToJson();
}

// ---- the gate word --------------------------------------------------------------------------

std::uint64_t EffectiveGateWord(const Catalog& c, const Volume& v) {
  std::uint64_t word = 0;
  const Disk* k = c.disk(v.disk);
  if (v.offline || (k && k->offline)) word |= gate::kOffline;
  if (k && k->read_only) word |= gate::kReadOnly;
  for (const Segment& s : c.Segments(v)) {
    const Drive* d = c.drive(s.drive);
    if (!d) continue;
    gate::DriveBits b = gate::DriveBits::ok;
    switch (d->status) {
      case DriveStatus::online:
        b = gate::DriveBits::ok;
        break;
      case DriveStatus::offline:
        b = gate::DriveBits::offline;
        break;
      case DriveStatus::failed:
        b = gate::DriveBits::failed;
        break;
      case DriveStatus::not_ready:
        b = gate::DriveBits::not_ready;
        break;
    }
    word |= gate::segment_bits(s.index, b);
  }
  return word;
}

}  // namespace blkgate
