// lib/src/controller.cpp — the Controller (controller.h): enum names, the shared helpers (commit,
// publish, dismount, mount, hooks, cache checks) and the seeds' volume and disk transitions;
// drives are controller_drives.cpp, objects controller_objects.cpp, resources
// controller_resources.cpp. Thread-safety: the caller's control lock.
#include "blkgate/controller.h"

#include <algorithm>
#include <optional>

#include "blkgate/enum_names.h"

namespace blkgate {
namespace {

bool Contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

constexpr std::array<std::string_view, 3> kKindNames = {"drive", "disk", "volume"};
constexpr std::array<std::string_view, 5> kResourceStateNames = {
    "online", "offline", "failed", "online-pending", "offline-pending"};
constexpr std::array<std::string_view, 4> kHookEventNames = {"pre-offline", "post-offline",
                                                             "pre-online", "post-online"};

std::string_view ToString(Kind k) noexcept {
  return NameOf(kKindNames, k);
}

Result ParseKind(std::string_view s, Kind* out) {
  return ParseByName(s, kKindNames, "object kind", out);
}

Result ParseObjectRef(std::string_view ref, Kind* kind, std::string* name) {
  auto slash = ref.find('/');
  if (slash == std::string_view::npos)
    return Result::InvalidArgument("bad object '" + std::string(ref) + "': expected KIND/NAME");
  Kind k;
  BLKGATE_TRY(ParseKind(ref.substr(0, slash), &k));
  std::string n(ref.substr(slash + 1));
  BLKGATE_TRY(ValidateName(ToString(k), n));
  *kind = k;
  *name = std::move(n);
  return Result::Ok();
}

std::string_view ToString(ResourceState s) noexcept {
  return NameOf(kResourceStateNames, s);
}

std::string_view ToString(HookEvent e) noexcept {
  return NameOf(kHookEventNames, e);
}

// ---- helpers --------------------------------------------------------------------------------

Result Controller::FindVolume(const std::string& name, Volume** v) {
  *v = c_->volume(name);
  return *v ? Result::Ok() : Result::Missing("volume", name);
}

Result Controller::FindDisk(const std::string& name, Disk** k) {
  *k = c_->disk(name);
  return *k ? Result::Ok() : Result::Missing("disk", name);
}

Result Controller::FindDrive(const std::string& name, Drive** d) {
  if (IsDeleted(name) && !c_->drive(name))
    return Result::ObjectDeleted("drive '" + name + "' was removed");
  *d = c_->drive(name);
  return *d ? Result::Ok() : Result::Missing("drive", name);
}

Result Controller::Commit(Catalog next) {
  BLKGATE_TRY(p_->Persist(next));
  std::optional<Catalog> before;
  if (events_) before = *c_;     // only when someone listens
  c_->Replace(std::move(next));  // objects keep their address: pointers stay valid
  if (before) EmitChanges(*before);
  return Result::Ok();
}

void Controller::PublishVolumesOf(std::string_view disk, bool wait) {
  for (const Volume* v : c_->VolumesOnDisk(disk))
    p_->PublishGate(*v, EffectiveGateWord(*c_, *v), wait);
}

Result Controller::DismountAll(const Volume& v, bool force, std::vector<std::string>* undone) {
  std::vector<std::string> mounts;
  BLKGATE_TRY(p_->ListMounts(v, &mounts));
  if (!force) {
    for (const auto& m : mounts) {
      Result busy = p_->ProbeBusy(m);
      if (!busy.ok())
        return Result::Error(busy.code(),
                             "volume '" + v.name + "' is in use at " + m +
                                 (busy.message().empty() ? "" : ": " + busy.message()));
    }
  }
  for (const auto& m : mounts) {
    Result r = force ? p_->ForceUnmount(v, m) : p_->Unmount(v, m);
    if (!r.ok()) return r;
    undone->push_back(m);
  }
  return Result::Ok();
}

Result Controller::MountAccessPaths(const Volume& v) {
  std::vector<std::string> mounted;
  BLKGATE_TRY(p_->ListMounts(v, &mounted));
  std::vector<std::string> done;
  for (const AccessPath& ap : v.access_paths) {
    if (Contains(mounted, ap.path)) continue;
    Result r = p_->Mount(v, ap);
    if (!r.ok()) {
      for (auto it = done.rbegin(); it != done.rend(); ++it) (void)p_->Unmount(v, *it);
      return r;
    }
    done.push_back(ap.path);
  }
  return Result::Ok();
}

Result Controller::PreHooks(HookEvent e, Kind kind, const std::string& name) {
  Result veto = p_->RunHooks(e, kind, name, StateOf(kind, name));
  if (!veto.ok()) EmitVeto(e, kind, name, veto);
  if (veto.ok() || veto.code() == Code::permission_denied) return veto;
  return Result::DeviceInUse(std::string(ToString(e)) + " hook refused: " + veto.message());
}

bool Controller::StoreMatches(const Drive& d, const DriveIdentity& id, std::uint64_t size) const {
  if (id != d.identity) return false;
  // A disk's layout keeps the size its drives were added with (refresh does not change it), so a
  // store that grew under a disk still holds every byte the gate uses.
  return size == d.size || (size > d.size && c_->DiskOfDrive(d.name));
}

void Controller::Remount(const Volume& v, const std::vector<std::string>& targets) {
  for (const auto& t : targets) {
    const AccessPath* ap = v.FindAccessPath(t);
    (void)p_->Mount(v, ap ? *ap : AccessPath{t, {}});
  }
}

Result Controller::CheckDriveCache(const Drive& d) {
  if (IsCorrupt(d.name))
    return Result::CacheCorrupt("drive '" + d.name +
                                "' changed under the gate; run blkgatectl refresh");
  DriveIdentity id;
  std::uint64_t size = 0;
  Result r = p_->InspectBacking(d.path, &id, &size);
  if (r.ok() && StoreMatches(d, id, size)) return Result::Ok();
  corrupt_drives_.insert(d.name);
  std::string why = r.ok() ? (size != d.size ? "size changed from " + std::to_string(d.size) +
                                                   " to " + std::to_string(size)
                                             : "it is a different file or device now")
                           : r.ToString();
  return Result::CacheCorrupt("drive '" + d.name + "' (" + d.path + "): " + why +
                              "; run blkgatectl refresh");
}

// ---- volumes --------------------------------------------------------------------------------

Result Controller::VolumeOffline(const std::string& name, bool force) {
  Volume* v;
  BLKGATE_TRY(FindVolume(name, &v));
  if (v->offline) return Result::Ok();  // idempotent (volume-offline.md)
  if (v->system || p_->IsSystemDevice(*v))
    return Result::SystemVolume("volume '" + name + "' is the system/boot volume and stays online");
  BLKGATE_TRY(PreHooks(HookEvent::pre_offline, Kind::volume, name));
  // The seeds' order: dismount the file systems first, so none of them sees the errors.
  std::vector<std::string> unmounted;
  if (Result r = DismountAll(*v, force, &unmounted); !r.ok()) {
    Remount(*v, unmounted);
    return r;
  }
  Catalog next = *c_;
  Volume& nv = *next.volume(name);
  nv.offline = true;
  if (!unmounted.empty() && nv.dismount == Dismount::none) nv.dismount = Dismount::temporary;
  if (Result r = Commit(std::move(next)); !r.ok()) {
    Remount(*v, unmounted);
    return r;
  }
  v = c_->volume(name);
  p_->PublishGate(*v, EffectiveGateWord(*c_, *v), /*wait=*/true);
  p_->Claim(*v, true);
  (void)p_->RunHooks(HookEvent::post_offline, Kind::volume, name, ResourceState::offline);
  return Result::Ok();
}

Result Controller::VolumeOnline(const std::string& name) {
  Volume* v;
  BLKGATE_TRY(FindVolume(name, &v));
  const Disk* k = c_->disk(v->disk);
  // A volume of an offline disk is offline whatever its own flag says; it cannot come online
  // by itself (resource online brings the disk first).
  if (k && k->offline)
    return Result::InvalidState("disk '" + k->name + "' of volume '" + name +
                                "' is offline; bring the disk online first");
  if (!v->offline) return Result::Ok();
  BLKGATE_TRY(PreHooks(HookEvent::pre_online, Kind::volume, name));
  Catalog next = *c_;
  next.volume(name)->offline = false;
  BLKGATE_TRY(Commit(std::move(next)));
  v = c_->volume(name);
  p_->PublishGate(*v, EffectiveGateWord(*c_, *v), /*wait=*/true);
  Result mounted = Result::Ok();
  if (v->dismount != Dismount::permanent) {
    p_->Claim(*v, false);
    if (v->dismount == Dismount::temporary) {
      mounted = MountAccessPaths(*v);
      if (mounted.ok()) {
        Catalog after = *c_;
        after.volume(name)->dismount = Dismount::none;
        mounted = Commit(std::move(after));
      }
    }
  }
  (void)p_->RunHooks(HookEvent::post_online, Kind::volume, name, StateOf(Kind::volume, name));
  // Online either way; a failed remount is a note and leaves the volume temporarily
  // dismounted, so `volume mount` can retry.
  if (!mounted.ok())
    notes_.push_back("volume '" + name +
                     "' is online, but not mounted at its access paths: " + mounted.ToString());
  return Result::Ok();
}

Result Controller::VolumeDismount(const std::string& name, bool force, bool permanent) {
  Volume* v;
  BLKGATE_TRY(FindVolume(name, &v));
  if (v->dismount == Dismount::temporary)
    return Result::TemporarilyDismounted("volume '" + name + "' is already dismounted");
  if (v->dismount == Dismount::permanent)
    return Result::PermanentlyDismounted("volume '" + name + "' is already dismounted permanently");
  if (permanent && !v->access_paths.empty())
    return Result::HasAccessPath("volume '" + name + "' still has access path " +
                                 v->access_paths[0].path + "; remove its access paths first");
  std::vector<std::string> unmounted;
  if (Result r = DismountAll(*v, force, &unmounted); !r.ok()) {
    Remount(*v, unmounted);
    return r;
  }
  Catalog next = *c_;
  next.volume(name)->dismount = permanent ? Dismount::permanent : Dismount::temporary;
  if (Result r = Commit(std::move(next)); !r.ok()) {
    Remount(*v, unmounted);
    return r;
  }
  if (permanent) p_->Claim(*c_->volume(name), true);
  return Result::Ok();
}

Result Controller::VolumeMount(const std::string& name) {
  Volume* v;
  BLKGATE_TRY(FindVolume(name, &v));
  const Disk* k = c_->disk(v->disk);
  if (v->offline || (k && k->offline))
    return Result::NotReady("volume '" + name + "' is offline and cannot be mounted");
  const bool was_permanent = v->dismount == Dismount::permanent;
  if (was_permanent) p_->Claim(*v, false);
  if (Result r = MountAccessPaths(*v); !r.ok()) {
    if (was_permanent) p_->Claim(*v, true);
    return r;
  }
  if (v->dismount == Dismount::none) return Result::Ok();
  Catalog next = *c_;
  next.volume(name)->dismount = Dismount::none;
  return Commit(std::move(next));
}

Result Controller::PathAdd(const std::string& name, const std::string& dir,
                           const MountOptions& options) {
  Volume* v;
  BLKGATE_TRY(FindVolume(name, &v));
  BLKGATE_TRY(p_->CheckDirectory(dir));
  if (v->FindAccessPath(dir))
    return Result::AlreadyExists("volume '" + name + "' already has access path " + dir);
  for (const auto& [n, other] : c_->volumes())
    if (other.FindAccessPath(dir))
      return Result::DeviceInUse(dir + " is already an access path of volume '" + n + "'");
  const Disk* k = c_->disk(v->disk);
  if (v->offline || (k && k->offline))
    return Result::NotReady("volume '" + name + "' is offline and cannot be mounted");
  // The access path is persisted before the mount: a mount outlives a crash of the daemon (its
  // device is recovered), so a mount made first and a kill before the save would leave the
  // volume mounted where the state says nothing. Saved first, a kill at any point is repaired
  // by the restart, which mounts every access path.
  Catalog before = *c_;
  Catalog next = *c_;
  Volume& nv = *next.volume(name);
  nv.access_paths.push_back({dir, options});
  const bool was_permanent = v->dismount == Dismount::permanent;
  nv.dismount = Dismount::none;  // an access path makes the volume mountable again
  BLKGATE_TRY(Commit(std::move(next)));
  if (was_permanent) p_->Claim(*v, false);
  Result mounted = MountAccessPaths(*v);  // on failure it has unmounted what it mounted
  if (!mounted.ok()) {
    if (was_permanent) p_->Claim(*v, true);
    if (Result r = Commit(std::move(before)); !r.ok())
      return mounted.Prefixed("the access path stays in the state (" + r.ToString() + ")");
    return mounted;
  }
  return Result::Ok();
}

Result Controller::PathRemove(const std::string& name, const std::string& dir) {
  Volume* v;
  BLKGATE_TRY(FindVolume(name, &v));
  if (!v->FindAccessPath(dir))
    return Result::NotFound("volume '" + name + "' has no access path " + dir);
  std::vector<std::string> mounts;
  BLKGATE_TRY(p_->ListMounts(*v, &mounts));
  const bool mounted = Contains(mounts, dir);
  if (mounted) BLKGATE_TRY(p_->Unmount(*v, dir));
  Catalog next = *c_;
  auto& paths = next.volume(name)->access_paths;
  paths.erase(std::find_if(paths.begin(), paths.end(),
                           [&](const AccessPath& ap) { return ap.path == dir; }));
  if (Result r = Commit(std::move(next)); !r.ok()) {
    if (mounted) Remount(*v, {dir});
    return r;
  }
  return Result::Ok();
}

// ---- disks ----------------------------------------------------------------------------------

Result Controller::DiskOffline(const std::string& name, bool force) {
  Disk* k;
  BLKGATE_TRY(FindDisk(name, &k));
  if (k->offline) return Result::Ok();
  auto fail = [&](const Volume& v, const Result& why) {
    return Result::FailedToOfflineDisk("disk '" + name + "': volume '" + v.name +
                                       "': " + why.ToString());
  };
  std::vector<const Volume*> vols = c_->VolumesOnDisk(name);
  // Check everything that can block before changing anything.
  for (const Volume* v : vols) {
    if (v->system || p_->IsSystemDevice(*v))
      return fail(*v, Result::SystemVolume("the system/boot volume stays online"));
    if (Result veto = PreHooks(HookEvent::pre_offline, Kind::volume, v->name); !veto.ok())
      return veto.code() == Code::permission_denied ? veto : fail(*v, veto);
  }
  if (Result veto = PreHooks(HookEvent::pre_offline, Kind::disk, name); !veto.ok())
    return veto.code() == Code::permission_denied
               ? veto
               : Result::FailedToOfflineDisk("disk '" + name + "': " + veto.message());
  // 1. dismount every volume (disk-offline.md step 1); undo all on the first failure.
  std::vector<std::pair<const Volume*, std::vector<std::string>>> undone;
  for (const Volume* v : vols) {
    std::vector<std::string> unmounted;
    Result r = DismountAll(*v, force, &unmounted);
    undone.emplace_back(v, std::move(unmounted));
    if (!r.ok()) {
      for (auto& [uv, ms] : undone) Remount(*uv, ms);
      return fail(*v, r);
    }
  }
  // 2. offline.
  Catalog next = *c_;
  next.disk(name)->offline = true;
  for (auto& [uv, ms] : undone) {
    Volume& nv = *next.volume(uv->name);
    if (!ms.empty() && nv.dismount == Dismount::none) nv.dismount = Dismount::temporary;
  }
  if (Result r = Commit(std::move(next)); !r.ok()) {
    for (auto& [uv, ms] : undone) Remount(*uv, ms);
    return r;
  }
  PublishVolumesOf(name, /*wait=*/true);
  for (const Volume* v : c_->VolumesOnDisk(name)) p_->Claim(*v, true);
  for (const Volume* v : c_->VolumesOnDisk(name))
    (void)p_->RunHooks(HookEvent::post_offline, Kind::volume, v->name, ResourceState::offline);
  (void)p_->RunHooks(HookEvent::post_offline, Kind::disk, name, ResourceState::offline);
  return Result::Ok();
}

Result Controller::DiskOnline(const std::string& name) {
  Disk* k;
  BLKGATE_TRY(FindDisk(name, &k));
  if (!k->offline) return Result::Ok();
  BLKGATE_TRY(PreHooks(HookEvent::pre_online, Kind::disk, name));
  Catalog next = *c_;
  next.disk(name)->offline = false;
  BLKGATE_TRY(Commit(std::move(next)));
  PublishVolumesOf(name, /*wait=*/true);
  std::vector<std::string> names;
  for (const Volume* cv : c_->VolumesOnDisk(name)) names.push_back(cv->name);
  for (const auto& vn : names) {
    const Volume* cv = c_->volume(vn);
    if (!cv || cv->offline || cv->dismount == Dismount::permanent) continue;
    p_->Claim(*cv, false);
    if (cv->dismount == Dismount::temporary && MountAccessPaths(*cv).ok()) {
      Catalog after = *c_;
      after.volume(vn)->dismount = Dismount::none;
      (void)Commit(std::move(after));
    }
  }
  (void)p_->RunHooks(HookEvent::post_online, Kind::disk, name, StateOf(Kind::disk, name));
  return Result::Ok();
}

Result Controller::DiskSetReadOnly(const std::string& name, bool read_only) {
  Disk* k;
  BLKGATE_TRY(FindDisk(name, &k));
  if (k->read_only == read_only) return Result::Ok();
  if (read_only) {
    // A writable file system would see its writes fail; dismount first (the seeds' order).
    for (const Volume* v : c_->VolumesOnDisk(name)) {
      std::vector<std::string> mounts;
      BLKGATE_TRY(p_->ListMounts(*v, &mounts));
      if (!mounts.empty())
        return Result::DeviceInUse("volume '" + v->name + "' of disk '" + name +
                                   "' is mounted at " + mounts[0] + "; dismount it first");
    }
  }
  std::vector<const Volume*> done;
  for (const Volume* v : c_->VolumesOnDisk(name)) {
    if (Result r = p_->SetDeviceReadOnly(*v, read_only); !r.ok()) {
      for (const Volume* d : done) (void)p_->SetDeviceReadOnly(*d, !read_only);
      return r;
    }
    done.push_back(v);
  }
  Catalog next = *c_;
  next.disk(name)->read_only = read_only;
  if (Result r = Commit(std::move(next)); !r.ok()) {
    for (const Volume* d : done) (void)p_->SetDeviceReadOnly(*d, !read_only);
    return r;
  }
  PublishVolumesOf(name, /*wait=*/true);
  return Result::Ok();
}

}  // namespace blkgate
