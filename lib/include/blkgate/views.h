// blkgate/views.h — the JSON objects of replies: drive, disk and volume views.
//
// Pure functions of the Controller's catalog and state, plus what the Platform says of a
// volume's running device (Platform::Describe). Field names are the protocol's
// (docs/control-protocol.md, "Objects"). Thread-safety: as Controller (the caller holds the
// daemon's control lock).
#pragma once

#include <nlohmann/json.hpp>

#include "blkgate/controller.h"

namespace blkgate {

nlohmann::json DriveView(const Controller& c, const Drive& d);
nlohmann::json DiskView(const Controller& c, const Disk& k);
// [{"path": DIR, "options": "nosuid,nodev,..."}...]: the volume's access paths in order added.
nlohmann::json AccessPathsView(const Volume& v);
// The volume's state is "stopped" while no device serves it.
nlohmann::json VolumeView(Controller& c, const Volume& v);

// {"drives": [...]} , {"disks": [...]}, {"volumes": [...]} of every object of that kind.
nlohmann::json DrivesView(const Controller& c);
nlohmann::json DisksView(const Controller& c);
nlohmann::json VolumesView(Controller& c);

}  // namespace blkgate
