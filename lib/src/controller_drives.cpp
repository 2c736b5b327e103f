// lib/src/controller_drives.cpp — the Controller's drive calls (drive-set-status.md): a drive's
// status and what it does to the gate words of the volumes on it, a failed drive reported by the
// data path, removal, refresh of the cached identities (which starts the volumes Restore held
// back), and the clean stop's dismounts. Thread-safety: as Controller (the caller's control
// lock).
#include "blkgate/controller.h"

namespace blkgate {

Result Controller::SetDriveStatus(Drive* d, DriveStatus s, std::vector<Change>* changed) {
  const std::string name = d->name;
  if (d->status == s) return Result::Ok();
  // A failed drive leaves that state only by going offline, which acknowledges the failure
  // (drive-set-status.md: VDS_E_OBJECT_STATUS_FAILED); not-ready would park its requests and
  // let a later online skip the acknowledgement.
  if (d->status == DriveStatus::failed && s != DriveStatus::offline)
    return Result::ObjectFailed("drive '" + name +
                                "' is failed; take it offline, repair it, then online");
  const Disk* k = c_->DiskOfDrive(name);
  const std::string disk = k ? k->name : std::string();
  if (s != DriveStatus::online && s != DriveStatus::failed)
    BLKGATE_TRY(PreHooks(HookEvent::pre_offline, Kind::drive, name));
  // drive-set-status.md: clear the cache before the drive goes offline.
  if (s == DriveStatus::offline) BLKGATE_TRY(p_->FlushDrive(*d));
  Catalog next = *c_;
  next.drive(name)->status = s;
  BLKGATE_TRY(Commit(std::move(next)));
  if (!disk.empty()) PublishVolumesOf(disk, /*wait=*/s != DriveStatus::online);
  ResourceState now = StateOf(Kind::drive, name);
  if (changed) changed->push_back({Kind::drive, name, now});
  (void)p_->RunHooks(s == DriveStatus::online ? HookEvent::post_online : HookEvent::post_offline,
                     Kind::drive, name, now);
  return Result::Ok();
}

Result Controller::DriveSetStatus(const std::string& name, std::string_view status) {
  DriveStatus s;
  if (status == "unknown")
    return Result::InvalidArgument("'unknown' is not a status a drive can be set to");
  BLKGATE_TRY(ParseDriveStatus(status, &s));
  Drive* d;
  BLKGATE_TRY(FindDrive(name, &d));
  BLKGATE_TRY(CheckDriveCache(*d));
  return SetDriveStatus(d, s, nullptr);
}

Result Controller::DriveFailed(const std::string& name) {
  Drive* d = c_->drive(name);
  if (!d) return Result::Missing("drive", name);
  if (d->status == DriveStatus::failed) return Result::Ok();
  return SetDriveStatus(d, DriveStatus::failed, nullptr);
}

Result Controller::DriveRemove(const std::string& name) {
  if (IsDeleted(name) && !c_->drive(name))
    return Result::ObjectDeleted("drive '" + name + "' was removed");
  Catalog next = *c_;
  BLKGATE_TRY(next.RemoveDrive(name));
  BLKGATE_TRY(Commit(std::move(next)));
  deleted_drives_.insert(name);
  corrupt_drives_.erase(name);
  return Result::Ok();
}

void Controller::DismountForStop(std::vector<std::string>* in_use,
                                 std::vector<std::string>* notes) {
  for (const auto& [n, v] : c_->volumes()) {
    std::vector<std::string> unmounted;
    if (Result r = DismountAll(v, false, &unmounted); !r.ok()) {
      in_use->push_back(n);
      notes->push_back("volume '" + n + "' stays mounted (" + r.message() +
                       "): its device is kept for the next daemon to recover");
    }
  }
}

Result Controller::Refresh(std::vector<std::string>* changed) {
  Catalog next = *c_;
  std::vector<std::string> names;
  for (auto& [n, d] : next.drives()) names.push_back(n);
  for (const auto& n : names) {
    Drive* d = next.drive(n);
    DriveIdentity id;
    std::uint64_t size = 0;
    Result r = p_->InspectBacking(d->path, &id, &size);
    if (!r.ok()) return r.Prefixed("drive '" + n + "'");
    if (StoreMatches(*d, id, size)) continue;
    // A drive smaller than its disk's volumes need cannot be taken as is.
    if (size < d->size && c_->DiskOfDrive(n))
      return Result::InvalidState("drive '" + n + "' shrank from " + std::to_string(d->size) +
                                  " to " + std::to_string(size) + " bytes under its disk");
    d->identity = id;
    if (!c_->DiskOfDrive(n)) d->size = size;
    if (changed) changed->push_back(n);
  }
  BLKGATE_TRY(Commit(std::move(next)));
  corrupt_drives_.clear();
  // The volumes held back at start because a drive had changed start now, on the stores just
  // recorded; one that still cannot start is a note (and stays stopped, with the reason).
  std::vector<std::string> held;
  for (const auto& [n, why] : held_volumes_)
    if (c_->volume(n)) held.push_back(n);
  held_volumes_.clear();
  StartVolumes(held, &notes_);
  return Result::Ok();
}

}  // namespace blkgate
