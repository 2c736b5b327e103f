// lib/src/controller_objects.cpp — creating and deleting drives, disks and volumes, and the
// restore at start: every catalog change that is not a seed state transition, through the
// Platform like the seeds' (so the fake platform tests them). Thread-safety: none (Controller).
#include <map>

#include "blkgate/controller.h"

namespace blkgate {

Result Controller::CheckExists(Kind kind, const std::string& name) const {
  switch (kind) {
    case Kind::drive:
      if (c_->drive(name)) return Result::Ok();
      if (IsDeleted(name)) return Result::ObjectDeleted("drive '" + name + "' was removed");
      break;
    case Kind::disk:
      if (c_->disk(name)) return Result::Ok();
      break;
    case Kind::volume:
      if (c_->volume(name)) return Result::Ok();
      break;
  }
  return Result::Missing(ToString(kind), name);
}

Result Controller::DriveAdd(const std::string& name, const std::string& path,
                            std::optional<std::uint64_t> size_if_missing) {
  const std::uint64_t create_size = size_if_missing.value_or(0);
  if (size_if_missing && (create_size == 0 || create_size % kSectorSize))
    return Result::InvalidArgument("size must be a non-zero multiple of 512, got " +
                                   std::to_string(create_size));
  Drive d;
  d.name = name;
  d.path = path;
  Result found = p_->InspectBacking(path, &d.identity, &d.size);
  const bool create = found.code() == Code::not_found && create_size != 0;
  if (!found.ok() && !create) return found;
  if (found.ok() && create_size != 0 && create_size != d.size)
    return Result::InvalidArgument(path + " exists with size " + std::to_string(d.size) +
                                   ", not the requested " + std::to_string(create_size));
  if (create) d.size = create_size;
  // Validate against the catalog before touching the file system: a bad call creates nothing.
  Catalog next = *c_;
  BLKGATE_TRY(next.AddDrive(d));
  if (create) {
    BLKGATE_TRY(p_->CreateBackingFile(path, create_size));
    std::uint64_t size = 0;
    if (Result r = p_->InspectBacking(path, &next.drive(name)->identity, &size); !r.ok()) {
      p_->RemoveBackingFile(path);
      return r;
    }
  }
  if (Result r = Commit(std::move(next)); !r.ok()) {
    if (create) p_->RemoveBackingFile(path);
    return r;
  }
  return Result::Ok();
}

Result Controller::DiskCreate(const std::string& name, std::vector<std::string> drives) {
  Catalog next = *c_;
  BLKGATE_TRY(next.CreateDisk(name, std::move(drives)));
  return Commit(std::move(next));
}

Result Controller::DiskDelete(const std::string& name) {
  Catalog next = *c_;
  BLKGATE_TRY(next.DeleteDisk(name));
  return Commit(std::move(next));
}

Result Controller::VolumeCreate(Volume v, bool auto_offset) {
  if (auto_offset) BLKGATE_TRY(c_->FindFreeExtent(v.disk, v.size, 1 << 20, &v.offset));
  Catalog next = *c_;
  BLKGATE_TRY(next.CreateVolume(v));
  // Nothing is served from a store that changed under the gate (until refresh).
  for (const Segment& s : next.Segments(*next.volume(v.name)))
    if (IsCorrupt(s.drive))
      return Result::CacheCorrupt("drive '" + s.drive +
                                  "' changed under the gate; run blkgatectl refresh");
  // The intent is persisted before the device exists, so that a crash at any point leaves
  // nothing the next start cannot account for: before the save, no volume and no device; after
  // it, a volume the start gives a device (and a device of ours no volume claims yet, when the
  // crash fell between the start and the id's save, is deleted at start: RemoveOrphans).
  const std::string name = v.name;
  Catalog before = *c_;
  BLKGATE_TRY(Commit(std::move(next)));
  // The device starts against the committed catalog (its gate word already says whether its
  // disk is offline or read-only). A device that cannot start unwinds the intent.
  int id = -1;
  if (Result started = p_->StartDevice(*c_, *c_->volume(name), &id); !started.ok()) {
    if (Result r = Commit(std::move(before)); !r.ok())
      return started.Prefixed("volume '" + name + "' stays in the state, stopped (" + r.ToString() +
                              ")");
    return started;
  }
  Catalog with_id = *c_;
  with_id.volume(name)->dev_id = id;
  if (Result r = Commit(std::move(with_id)); !r.ok())  // the next start finds it by its owner
    notes_.push_back("volume '" + name + "': its device id is not saved: " + r.ToString());
  const Volume& created = *c_->volume(name);
  if (const Disk* k = c_->disk(created.disk)) {
    if (k->read_only) {
      if (Result r = p_->SetDeviceReadOnly(created, true); !r.ok())
        notes_.push_back("volume '" + name + "': " + r.ToString());
    }
    if (k->offline) p_->Claim(created, true);
  }
  return Result::Ok();
}

Result Controller::VolumeDelete(const std::string& name) {
  const Volume* v = c_->volume(name);
  if (!v) return Result::Missing("volume", name);
  BLKGATE_TRY(p_->ProbeDeviceUnused(*v));
  Catalog next = *c_;
  BLKGATE_TRY(next.DeleteVolume(name));
  // The device goes before the volume is forgotten: a crash in between leaves the volume in the
  // state, and the next start gives it a device again (as before the call); never a device no
  // volume accounts for.
  p_->StopDevice(*v);
  if (Result r = Commit(std::move(next)); !r.ok()) {
    StartVolumes({name}, &notes_);  // serving again, as before the call
    return r;
  }
  held_volumes_.erase(name);
  return Result::Ok();
}

void Controller::Restore(std::vector<std::string>* notes) {
  // Backing identity first: a drive whose file or device changed while the daemon was down
  // (identity or size differs, or it cannot be inspected) is cache-corrupt, and no volume lying
  // on it is started, so nothing is served from a store the gate did not record. Refresh
  // records the store as it is now and starts them (Refresh below).
  std::map<std::string, std::string, std::less<>> changed;  // drive -> why
  for (const auto& [n, d] : c_->drives())
    if (Result r = CheckDriveCache(d); !r.ok()) {
      notes->push_back(r.ToString());
      changed[n] = r.ToString();
    }
  std::vector<std::string> names;
  for (const auto& [n, v] : c_->volumes()) {
    std::string why;
    for (const Segment& s : c_->Segments(v))
      if (auto it = changed.find(s.drive); it != changed.end() && why.empty()) why = it->second;
    if (why.empty()) {
      names.push_back(n);
      continue;
    }
    held_volumes_[n] = "not started: " + why;
    notes->push_back("volume " + n + " not started: " + why);
  }
  StartVolumes(names, notes);
  EmitRestored();
}

void Controller::StartVolumes(const std::vector<std::string>& names,
                              std::vector<std::string>* notes) {
  Catalog next = *c_;
  bool dirty = false;
  std::vector<std::string> started;
  // Devices first, each asking for the ublk id it had (so /dev/ublkbN stays the same).
  for (const auto& n : names) {
    const Volume& v = *c_->volume(n);
    int id = v.dev_id;
    if (Result r = p_->StartDevice(*c_, v, &id); !r.ok()) {
      notes->push_back("volume " + n + " not started: " + r.ToString());
      continue;
    }
    started.push_back(n);
    if (id != v.dev_id) {
      next.volume(n)->dev_id = id;
      dirty = true;
    }
    if (p_->Describe(v).recovered) {
      next.volume(n)->recoveries++;
      dirty = true;
    }
  }
  for (const auto& n : started) {
    const Volume& v = *c_->volume(n);
    const Disk* k = c_->disk(v.disk);
    if (k && k->read_only) {
      if (Result r = p_->SetDeviceReadOnly(v, true); !r.ok())
        notes->push_back("volume " + n + ": " + r.ToString());
    }
    if (v.offline || (k && k->offline) || v.dismount == Dismount::permanent) {
      p_->Claim(v, true);
      continue;
    }
    if (v.access_paths.empty()) continue;
    if (Result r = MountAccessPaths(v); !r.ok()) {
      notes->push_back("volume " + n + ": " + r.ToString());
      continue;
    }
    if (v.dismount == Dismount::temporary) {
      next.volume(n)->dismount = Dismount::none;
      dirty = true;
    }
  }
  if (dirty) {
    if (Result r = p_->Persist(next); r.ok())
      c_->Replace(std::move(next));
    else
      notes->push_back(r.ToString());
  }
}

DeviceInfo Controller::Describe(const Volume& v) {
  DeviceInfo info = p_->Describe(v);
  if (auto it = held_volumes_.find(v.name); !info.running && it != held_volumes_.end())
    info.error = it->second;
  return info;
}

}  // namespace blkgate
