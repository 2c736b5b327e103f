// lib/src/controller_resources.cpp — cluster-resource-offline.md: resource states, footprints,
// resource offline/online with their dependents. Thread-safety: as Controller (none).
#include <algorithm>

#include "blkgate/controller.h"

namespace blkgate {

// ---- resources ------------------------------------------------------------------------------

ResourceState StateIn(const Catalog& c, Kind kind, const std::string& name) {
  auto drive_state = [](const Drive& d) {
    switch (d.status) {
      case DriveStatus::online:
        return ResourceState::online;
      case DriveStatus::offline:
        return ResourceState::offline;
      case DriveStatus::failed:
        return ResourceState::failed;
      case DriveStatus::not_ready:
        return ResourceState::online_pending;
    }
    return ResourceState::failed;
  };
  // Worst state of a set of drives: failed > pending > offline > online. (The gate answers a
  // request touching an offline and a failed drive with -ENODEV; the state reports the failure,
  // which needs an acknowledgement.)
  auto rank = [](ResourceState s) {
    switch (s) {
      case ResourceState::failed:
        return 3;
      case ResourceState::online_pending:
        return 2;
      case ResourceState::offline:
        return 1;
      default:
        return 0;
    }
  };
  auto combine = [&](const std::vector<std::string>& drives) {
    ResourceState s = ResourceState::online;
    for (const auto& dn : drives) {
      const Drive* d = c.drive(dn);
      if (!d) continue;
      const ResourceState ds = drive_state(*d);
      if (rank(ds) > rank(s)) s = ds;
    }
    return s;
  };
  switch (kind) {
    case Kind::drive:
      if (const Drive* d = c.drive(name)) return drive_state(*d);
      return ResourceState::offline;
    case Kind::disk: {
      const Disk* k = c.disk(name);
      if (!k || k->offline) return ResourceState::offline;
      return combine(k->drives);
    }
    case Kind::volume: {
      const Volume* v = c.volume(name);
      if (!v) return ResourceState::offline;
      const Disk* k = c.disk(v->disk);
      if (v->offline || (k && k->offline)) return ResourceState::offline;
      std::vector<std::string> drives;
      for (const Segment& s : c.Segments(*v)) drives.push_back(s.drive);
      return combine(drives);
    }
  }
  return ResourceState::failed;
}

std::vector<std::string> Footprint(const Catalog& c, Kind kind, const std::string& name) {
  std::vector<std::string> out{std::string(ToString(kind)) + "/" + name};
  auto add_disk = [&](const std::string& disk) {
    out.push_back("disk/" + disk);
    for (const Volume* v : c.VolumesOnDisk(disk)) out.push_back("volume/" + v->name);
  };
  if (kind == Kind::disk) add_disk(name);
  if (kind == Kind::drive)
    if (const Disk* k = c.DiskOfDrive(name)) add_disk(k->name);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Result Controller::ResourceOffline(Kind kind, const std::string& name,
                                   std::vector<Change>* changed) {
  ResourceState before = StateOf(kind, name);
  switch (kind) {
    case Kind::volume: {
      Volume* v;
      BLKGATE_TRY(FindVolume(name, &v));
      break;
    }
    case Kind::disk: {
      Disk* k;
      BLKGATE_TRY(FindDisk(name, &k));
      break;
    }
    case Kind::drive: {
      Drive* d;
      BLKGATE_TRY(FindDrive(name, &d));
      break;
    }
  }
  if (before == ResourceState::online_pending || before == ResourceState::offline_pending)
    return Result::InvalidState(std::string(ToString(kind)) + " '" + name + "' is " +
                                std::string(ToString(before)));
  // Dependents first: volumes before their disk before its drives. A failed resource is taken
  // offline like any other (cluster-resource-offline.md: ok, not object-failed).
  switch (kind) {
    case Kind::volume:
      BLKGATE_TRY(VolumeOffline(name, /*force=*/false));
      break;
    case Kind::disk:
      for (const Volume* v : c_->VolumesOnDisk(name))
        if (!v->offline) changed->push_back({Kind::volume, v->name, ResourceState::offline});
      BLKGATE_TRY(DiskOffline(name, /*force=*/false));
      break;
    case Kind::drive: {
      if (const Disk* k = c_->DiskOfDrive(name); k && !k->offline) {
        std::string disk = k->name;
        BLKGATE_TRY(ResourceOffline(Kind::disk, disk, changed));
      }
      Drive* d = c_->drive(name);
      BLKGATE_TRY(CheckDriveCache(*d));
      BLKGATE_TRY(SetDriveStatus(d, DriveStatus::offline, nullptr));
      break;
    }
  }
  changed->push_back({kind, name, StateOf(kind, name)});
  return Result::Ok();
}

Result Controller::ResourceOnline(Kind kind, const std::string& name,
                                  std::vector<Change>* changed) {
  const ResourceState before = StateOf(kind, name);
  switch (kind) {
    case Kind::drive: {
      Drive* d;
      BLKGATE_TRY(FindDrive(name, &d));
      if (d->status == DriveStatus::online) return Result::Ok();
      BLKGATE_TRY(CheckDriveCache(*d));
      BLKGATE_TRY(SetDriveStatus(d, DriveStatus::online, nullptr));
      break;
    }
    case Kind::disk: {
      Disk* k;
      BLKGATE_TRY(FindDisk(name, &k));
      // What it depends on first: its drives.
      std::vector<std::string> drives = k->drives;
      for (const auto& dn : drives) {
        const Drive* d = c_->drive(dn);
        if (d && d->status == DriveStatus::failed)
          return Result::ObjectFailed("disk '" + name + "': drive '" + dn + "' is failed");
      }
      for (const auto& dn : drives) BLKGATE_TRY(ResourceOnline(Kind::drive, dn, changed));
      BLKGATE_TRY(DiskOnline(name));
      break;
    }
    case Kind::volume: {
      Volume* v;
      BLKGATE_TRY(FindVolume(name, &v));
      std::string disk = v->disk;
      BLKGATE_TRY(ResourceOnline(Kind::disk, disk, changed));
      BLKGATE_TRY(VolumeOnline(name));
      break;
    }
  }
  if (ResourceState now = StateOf(kind, name); now != before) changed->push_back({kind, name, now});
  return Result::Ok();
}

}  // namespace blkgate
