// lib/src/views.cpp — JSON views of drives, disks and volumes (see views.h).
#include "blkgate/views.h"

namespace blkgate {

using Json = nlohmann::json;

Json DriveView(const Controller& c, const Drive& d) {
  const Disk* k = c.catalog().DiskOfDrive(d.name);
  return {{"name", d.name},
          {"path", d.path},
          {"size", d.size},
          {"status", ToString(d.status)},
          {"state", ToString(c.StateOf(Kind::drive, d.name))},
          {"cache", c.IsCorrupt(d.name) ? "corrupt" : "ok"},
          {"disk", k ? Json(k->name) : Json(nullptr)}};
}

Json DiskView(const Controller& c, const Disk& k) {
  Json vols = Json::array();
  for (const Volume* v : c.catalog().VolumesOnDisk(k.name)) vols.push_back(v->name);
  return {{"name", k.name},
          {"drives", k.drives},
          {"size", c.catalog().DiskSize(k.name)},
          {"state", ToString(c.StateOf(Kind::disk, k.name))},
          {"read_only", k.read_only},
          {"volumes", std::move(vols)}};
}

Json AccessPathsView(const Volume& v) {
  Json all = Json::array();
  for (const AccessPath& ap : v.access_paths)
    all.push_back({{"path", ap.path}, {"options", ToString(ap.options)}});
  return all;
}

Json VolumeView(Controller& c, const Volume& v) {
  const DeviceInfo dev = c.Describe(v);
  const Disk* k = c.catalog().disk(v.disk);
  Json stats = Json::object();
  for (const auto& [name, n] : dev.stats) stats[name] = n;
  const ResourceState state = c.StateOf(Kind::volume, v.name);
  // What holds the volume offline: its own flag, its disk's (both claim the device), or only
  // an offline drive under its extent (not claimed: its requests fail with ENODEV).
  Json offline_by = nullptr;
  if (v.offline)
    offline_by = "volume";
  else if (k && k->offline)
    offline_by = "disk";
  else if (state == ResourceState::offline)
    offline_by = "drive";
  Json j = {{"name", v.name},
            {"disk", v.disk},
            {"offset", v.offset},
            {"size", v.size},
            {"device", dev.running ? Json(dev.device) : Json(nullptr)},
            {"dev_id", dev.running ? dev.dev_id : -1},
            {"state", dev.running ? std::string(ToString(state)) : std::string("stopped")},
            {"offline_by", std::move(offline_by)},
            {"read_only", k && k->read_only},
            {"queues", dev.queues},
            {"depth", v.depth},
            {"backend", ToString(v.backend)},
            {"system", v.system},
            {"dismount", ToString(v.dismount)},
            {"access_paths", AccessPathsView(v)},
            {"mounts", dev.mounts},
            {"recovery", dev.running ? Json(dev.recovery) : Json(nullptr)},
            {"recoveries", v.recoveries},
            {"stats", std::move(stats)}};
  if (!dev.error.empty()) j["error"] = dev.error;
  return j;
}

Json DrivesView(const Controller& c) {
  Json all = Json::array();
  for (const auto& [n, d] : c.catalog().drives()) all.push_back(DriveView(c, d));
  return {{"drives", std::move(all)}};
}

Json DisksView(const Controller& c) {
  Json all = Json::array();
  for (const auto& [n, k] : c.catalog().disks()) all.push_back(DiskView(c, k));
  return {{"disks", std::move(all)}};
}

Json VolumesView(Controller& c) {
  Json all = Json::array();
  for (const auto& [n, v] : c.catalog().volumes()) all.push_back(VolumeView(c, v));
  return {{"volumes", std::move(all)}};
}

}  // namespace blkgate
