// blkgate/model.h — the object model: drives, disks, volumes, and the pure catalog of them.
//
// A drive is a backing store (regular file or block device). A disk is one or more drives
// concatenated in order. A volume is an extent (offset, size) of a disk, exposed as one ublk
// device. The Catalog validates and applies changes without any syscall, so it is tested
// natively; the daemon does the I/O around it. A failed Catalog operation changes nothing.
//
// Thread-safety: none; the daemon serialises access to its Catalog.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "blkgate/result.h"

namespace blkgate {

enum class DriveStatus : std::uint8_t { online, offline, failed, not_ready };
enum class BackendKind : std::uint8_t { file, null, mem };
enum class Dismount : std::uint8_t { none, temporary, permanent };

std::string_view ToString(DriveStatus s) noexcept;
std::string_view ToString(BackendKind b) noexcept;
std::string_view ToString(Dismount d) noexcept;
// Parse; invalid_argument on anything else. "unknown" is not a settable status.
Result ParseDriveStatus(std::string_view s, DriveStatus* out);
Result ParseBackend(std::string_view s, BackendKind* out);
Result ParseDismount(std::string_view s, Dismount* out);

// What the gate remembers of a backing store, to notice it was replaced ("cache-corrupt").
struct DriveIdentity {
  std::uint64_t dev = 0;  // st_dev of the file, or st_rdev of a block device
  std::uint64_t ino = 0;  // st_ino (0 for block devices)
  bool block_device = false;
  bool operator==(const DriveIdentity&) const = default;
};

// How an access path is mounted. nosuid and nodev are always set: nothing on a volume gains
// set-user-ID or device-node powers through a mount the gate makes (suid and dev are refused,
// never offered; mount such a volume by hand if that is really wanted).
enum class Atime : std::uint8_t { relatime, noatime, strictatime };
struct MountOptions {
  bool read_only = false;  // ro
  bool noexec = false;
  Atime atime = Atime::relatime;
  bool nodiratime = false;
  bool operator==(const MountOptions&) const = default;
};
// The options as the mount gets them, in a fixed order: "nosuid,nodev[,ro][,noexec]
// [,noatime|,strictatime][,nodiratime]" (relatime, the kernel's default, is not spelt out).
std::string ToString(const MountOptions& o);
// Parses a comma-separated list, mount -o style, of ro, rw, exec, noexec, nosuid, nodev,
// relatime, noatime, strictatime and nodiratime (later ones win over earlier: "ro,rw" is rw).
// invalid_argument naming the option for anything else, for suid and dev, and for an empty
// list or item. *out untouched on failure.
Result ParseMountOptions(std::string_view text, MountOptions* out);

// A mount point the gate manages for a volume: an absolute, normalised directory path.
struct AccessPath {
  std::string path;
  MountOptions options;
  bool operator==(const AccessPath&) const = default;
};

struct Drive {
  std::string name;
  std::string path;
  std::uint64_t size = 0;
  DriveStatus status = DriveStatus::online;
  DriveIdentity identity;
};

struct Disk {
  std::string name;
  std::vector<std::string> drives;  // in concatenation order
  bool offline = false;
  bool read_only = false;
};

struct Volume {
  std::string name;
  std::string disk;
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
  std::uint16_t queues = 0;  // 0: one per CPU, decided by the daemon
  std::uint16_t depth = 128;
  BackendKind backend = BackendKind::file;
  bool offline = false;
  bool system = false;  // created with --system: never taken offline
  Dismount dismount = Dismount::none;
  std::vector<AccessPath> access_paths;  // mount points the gate manages, in order added
  int dev_id = -1;  // the ublk id it was last served as; asked for again at restore
  // How often a start took its device over from a previous daemon (crash or handover).
  std::uint32_t recoveries = 0;

  // The access path `dir` (compared as given: paths are normalised at the edge), or nullptr.
  const AccessPath* FindAccessPath(std::string_view dir) const;
};

// One contiguous piece of a volume on one drive.
struct Segment {
  std::string drive;
  int index = 0;                    // position of the drive in its disk (gate word slot)
  std::uint64_t volume_offset = 0;  // where the piece starts in the volume
  std::uint64_t drive_offset = 0;   // where it starts in the drive
  std::uint64_t length = 0;
};

inline constexpr std::uint64_t kSectorSize = 512;
inline constexpr int kMaxDrivesPerDisk = 16;  // == gate::kMaxSegments
inline constexpr std::uint16_t kMaxQueues = 64;
inline constexpr std::uint16_t kMaxDepth = 4096;
// Limits of the state file's text, checked while parsing it (Catalog::FromJson).
inline constexpr std::size_t kMaxStateBytes = std::size_t{64} << 20;
inline constexpr int kMaxStateDepth = 32;

// Names: 1..64 chars of [A-Za-z0-9._-], not starting with '.' or '-'.
Result ValidateName(std::string_view kind, std::string_view name);

class Catalog {
 public:
  // --- drives
  // already_exists, invalid_argument (bad name, empty path, size 0 or not a multiple of 512).
  Result AddDrive(Drive d);
  // not_found; device_in_use when a disk uses it.
  Result RemoveDrive(std::string_view name);

  // --- disks
  // already_exists; not_found for an unknown drive; invalid_argument for no drives, a drive
  // listed twice or more than kMaxDrivesPerDisk; device_in_use when a drive is in another disk.
  Result CreateDisk(std::string name, std::vector<std::string> drives);
  // not_found; device_in_use when volumes are on it.
  Result DeleteDisk(std::string_view name);
  // Sum of the disk's drive sizes (0 for an unknown disk).
  std::uint64_t DiskSize(std::string_view name) const;

  // --- volumes
  // already_exists; not_found (disk); invalid_argument for size 0, offset/size not multiples of
  // 512, extent past the end of the disk, overlap with another volume, bad queues/depth.
  Result CreateVolume(Volume v);
  Result DeleteVolume(std::string_view name);
  // The lowest offset, aligned to `align` (a power of two, >= 512), where `size` bytes fit on
  // the disk without overlapping its volumes. not_found for an unknown disk; invalid_argument
  // when no such gap exists.
  Result FindFreeExtent(std::string_view disk, std::uint64_t size, std::uint64_t align,
                        std::uint64_t* offset) const;
  // The volume's extent mapped onto its drives, in order. REQUIRES: the volume exists.
  std::vector<Segment> Segments(const Volume& v) const;

  // --- lookup (nullptr when missing)
  const Drive* drive(std::string_view name) const;
  const Disk* disk(std::string_view name) const;
  const Volume* volume(std::string_view name) const;
  Drive* drive(std::string_view name);
  Disk* disk(std::string_view name);
  Volume* volume(std::string_view name);
  // Disk holding the drive, or nullptr.
  const Disk* DiskOfDrive(std::string_view drive) const;
  std::vector<const Volume*> VolumesOnDisk(std::string_view disk) const;

  const std::map<std::string, Drive, std::less<>>& drives() const { return drives_; }
  const std::map<std::string, Disk, std::less<>>& disks() const { return disks_; }
  const std::map<std::string, Volume, std::less<>>& volumes() const { return volumes_; }

  // Serialised form used by the state file (JSON text, stable field names). Both in
  // lib/src/catalog_json.cpp.
  std::string ToJson() const;
  // Replaces *this on success; on failure *this is unchanged (invalid_argument, or the code of
  // the mutator that refused an object, naming the problem and where: "volumes[1].queues must
  // be an integer from 0 to 65535"). Trusts nothing:
  // over kMaxStateBytes or nested deeper than kMaxStateDepth is refused while parsing; every
  // member must be present and of its type (null, a float, a negative or too large number is
  // corrupt, never a default); paths must be absolute, free of NUL and "..", and are
  // normalised; names, references and extents are validated as the mutators do.
  Result FromJson(std::string_view text);

  bool operator==(const Catalog&) const;

  // Makes *this equal to `next` in place: an object present in both keeps its address (its
  // fields take next's values), objects only in next are added, the others removed. So a
  // Drive*/Disk*/Volume* a caller holds stays valid across a commit unless that object was
  // deleted by it.
  void Replace(Catalog next);

 private:
  std::map<std::string, Drive, std::less<>> drives_;
  std::map<std::string, Disk, std::less<>> disks_;
  std::map<std::string, Volume, std::less<>> volumes_;
};

// The gate word (see gate.h) a volume's queues must use now: offline when the volume or its
// disk is offline, read-only when the disk is, and the status of each drive the volume lies on
// in the slot of the drive's position in its disk (Segment::index). Pure.
std::uint64_t EffectiveGateWord(const Catalog& c, const Volume& v);

}  // namespace blkgate
