// lib/src/ops_table.cpp — the operation registry's table (ops.h): one OpSpec per operation, its
// arguments, claims, role, help, reply printer and handler. Adding an operation = one entry
// here + one Controller method + tests. Thread-safety: built once (function-local static),
// immutable after.
#include <unistd.h>

#include <chrono>

#include "blkgate/views.h"
#include "ops_table.h"

namespace blkgate::ops {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kVersion = "0.1.0";

// ---- argument constructors ------------------------------------------------------------------

ArgSpec Pos(std::string_view key, ArgType type, std::string_view meta, std::string_view kind = {}) {
  return ArgSpec{key, type, ArgForm::positional, true, meta, {}, {}, kind};
}
ArgSpec Opt(std::string_view key, ArgType type, bool required, std::string_view name,
            std::string_view meta, std::string_view help, std::string_view kind = {}) {
  return ArgSpec{key, type, ArgForm::option, required, name, meta, help, kind};
}
ArgSpec Flag(std::string_view name, std::string_view help) {
  return ArgSpec{name.substr(2), ArgType::flag, ArgForm::option, false, name, {}, help};
}
ArgSpec Number(std::string_view key, std::string_view name, std::string_view help,
               std::uint64_t min, std::uint64_t max, std::string_view range_message) {
  ArgSpec a{key, ArgType::number, ArgForm::option, false, name, "N", help};
  a.min = min;
  a.max = max;
  a.range_message = range_message;
  return a;
}

const ArgSpec kDriveName = Pos("name", ArgType::name, "NAME", "drive");
const ArgSpec kDiskName = Pos("name", ArgType::name, "NAME", "disk");
const ArgSpec kVolumeName = Pos("name", ArgType::name, "NAME", "volume");
// blkgatectl's own options (ArgSpec::local).
ArgSpec Local(ArgSpec a) {
  a.local = true;
  return a;
}
const ArgSpec kWatch = [] {
  ArgSpec a = Local(Number("watch", "--watch", "print rates every SECS seconds until interrupted",
                           1, 3600, "--watch must be 1 to 3600 seconds"));
  a.meta = "SECS";
  return a;
}();

const ArgSpec kForceOffline =
    Flag("--force", "take it offline even when it is in use (open files are shut down)");

// ---- handlers -------------------------------------------------------------------------------

Result ShowDrive(Call& c) {
  const std::string& name = c.args.Str("name");
  BLKGATE_TRY(c.ctl.CheckExists(Kind::drive, name));
  *c.data = DriveView(c.ctl, *c.ctl.catalog().drive(name));
  return Result::Ok();
}
Result ShowDisk(Call& c) {
  const std::string& name = c.args.Str("name");
  BLKGATE_TRY(c.ctl.CheckExists(Kind::disk, name));
  *c.data = DiskView(c.ctl, *c.ctl.catalog().disk(name));
  return Result::Ok();
}
Result ShowVolume(Call& c) {
  const std::string& name = c.args.Str("name");
  BLKGATE_TRY(c.ctl.CheckExists(Kind::volume, name));
  *c.data = VolumeView(c.ctl, *c.ctl.catalog().volume(name));
  return Result::Ok();
}
// Runs `r` (the call's effect), then shows the object on success.
Result Then(Result r, Result (*show)(Call&), Call& c) {
  BLKGATE_TRY(r);
  return show(c);
}
Json ChangesJson(const std::vector<Change>& changed) {
  Json out = Json::array();
  for (const Change& ch : changed)
    out.push_back({{"kind", ToString(ch.kind)}, {"name", ch.name}, {"state", ToString(ch.state)}});
  return out;
}
Result Resource(Call& c, bool online) {
  std::vector<Change> changed;
  const Kind kind = c.args.ObjectKind();
  const std::string& name = c.args.Str("name");
  BLKGATE_TRY(online ? c.ctl.ResourceOnline(kind, name, &changed)
                     : c.ctl.ResourceOffline(kind, name, &changed));
  *c.data = {{"changed", ChangesJson(changed)}};
  return Result::Ok();
}

// `stats`: a sample of every running volume (or the one named) with the time it was taken.
Result Stats(Call& c) {
  std::vector<const Volume*> vols;
  if (c.args.Has("name")) {
    const std::string& name = c.args.Str("name");
    BLKGATE_TRY(c.ctl.CheckExists(Kind::volume, name));
    vols.push_back(c.ctl.catalog().volume(name));
  } else {
    for (const auto& [n, v] : c.ctl.catalog().volumes()) vols.push_back(&v);
  }
  const auto now = std::chrono::steady_clock::now().time_since_epoch();
  Json out = Json::array();
  for (const Volume* v : vols) {
    std::vector<QueueIoSample> queues;
    Result r = c.ctl.SampleIo(*v, &queues);
    if (!r.ok() && c.args.Has("name")) return r;
    Json qs = Json::array();
    for (std::size_t q = 0; q < queues.size(); ++q)
      qs.push_back(ToJson(queues[q], static_cast<unsigned>(q)));
    out.push_back({{"name", v->name}, {"running", r.ok()}, {"queues", std::move(qs)}});
  }
  *c.data = {{"time_ns", std::chrono::duration_cast<std::chrono::nanoseconds>(now).count()},
             {"volumes", std::move(out)}};
  return Result::Ok();
}

}  // namespace

const std::vector<OpSpec>& Table() {
  static const std::vector<OpSpec> table = {
      // ---- drives
      {"drive.add",
       "drive add",
       Kind::drive,
       {kDriveName, Pos("path", ArgType::file, "PATH"),
        Opt("size", ArgType::size, false, "--size", "BYTES",
            "create PATH with this size when it does not exist (K/M/G/T suffixes)")},
       ClaimRule::object,
       false,
       false,
       "add a drive (a backing file or block device)",
       "Adds the drive NAME backed by PATH, a regular file or a block device. With --size the "
       "file\nis created when it does not exist. PATH is made absolute before it is sent.",
       "drive",
       Printer::added,
       "drive {name} added: {path}",
       [](Call& c) {
         std::optional<std::uint64_t> size;
         if (c.args.Has("size")) size = c.args.U64("size");
         return Then(c.ctl.DriveAdd(c.args.Str("name"), c.args.Str("path"), size), ShowDrive, c);
       }},
      {"drive.list",
       "drive list",
       Kind::drive,
       {},
       ClaimRule::none,
       true,
       false,
       "list the drives",
       "Prints a table of the drives: NAME, PATH, SIZE, STATUS, DISK.",
       "`{\"drives\": [drive]}`",
       Printer::drives,
       {},
       [](Call& c) {
         *c.data = DrivesView(c.ctl);
         return Result::Ok();
       },
       Role::operator_},
      {"drive.show",
       "drive show",
       Kind::drive,
       {kDriveName},
       ClaimRule::none,
       true,
       false,
       "show one drive",
       "Prints the drive's fields as `key: value` lines.",
       "drive",
       Printer::show_drive,
       {},
       ShowDrive,
       Role::operator_},
      {"drive.remove",
       "drive remove",
       Kind::drive,
       {kDriveName},
       ClaimRule::object,
       false,
       false,
       "remove a drive",
       "Forgets the drive NAME (the file is kept). Refused while a disk uses it.",
       "`{}`",
       Printer::line,
       "drive {name} removed",
       [](Call& c) { return c.ctl.DriveRemove(c.args.Str("name")); }},
      {"drive.set-status",
       "drive set-status",
       Kind::drive,
       {kDriveName, Pos("status", ArgType::drive_status, "online|offline|failed|not-ready")},
       ClaimRule::object,
       false,
       false,
       "set a drive's status",
       "Sets the status of the drive NAME to online, offline, failed or not-ready.",
       "drive",
       Printer::line,
       "drive {name} is {status}",
       [](Call& c) {
         return Then(c.ctl.DriveSetStatus(c.args.Str("name"), c.args.Str("status")), ShowDrive, c);
       },
       Role::operator_},
      // ---- disks
      {"disk.create",
       "disk create",
       Kind::disk,
       {kDiskName, Pos("drives", ArgType::names, "DRIVE", "drive")},
       ClaimRule::object,
       false,
       false,
       "create a disk from drives, concatenated in order",
       "Creates the disk NAME from one or more drives, concatenated in the order given.",
       "disk",
       Printer::added,
       "disk {name} created: {drives}",
       [](Call& c) {
         return Then(c.ctl.DiskCreate(c.args.Str("name"), c.args.Names("drives")), ShowDisk, c);
       }},
      {"disk.list",
       "disk list",
       Kind::disk,
       {},
       ClaimRule::none,
       true,
       false,
       "list the disks",
       "Prints a table of the disks: NAME, SIZE, STATE, READ-ONLY, DRIVES, VOLUMES.",
       "`{\"disks\": [disk]}`",
       Printer::disks,
       {},
       [](Call& c) {
         *c.data = DisksView(c.ctl);
         return Result::Ok();
       },
       Role::operator_},
      {"disk.show",
       "disk show",
       Kind::disk,
       {kDiskName},
       ClaimRule::none,
       true,
       false,
       "show one disk",
       "Prints the disk's fields as `key: value` lines.",
       "disk",
       Printer::show_disk,
       {},
       ShowDisk,
       Role::operator_},
      {"disk.delete",
       "disk delete",
       Kind::disk,
       {kDiskName},
       ClaimRule::object,
       false,
       false,
       "delete a disk",
       "Deletes the disk NAME. Refused while volumes are on it.",
       "`{}`",
       Printer::line,
       "disk {name} deleted",
       [](Call& c) { return c.ctl.DiskDelete(c.args.Str("name")); }},
      {"disk.offline",
       "disk offline",
       Kind::disk,
       {kDiskName, kForceOffline},
       ClaimRule::object,
       false,
       false,
       "take a disk and its volumes offline",
       "Takes the disk NAME offline, and every volume on it first.",
       "disk",
       Printer::line,
       "disk {name} is {state}",
       [](Call& c) {
         return Then(c.ctl.DiskOffline(c.args.Str("name"), c.args.Flag("force")), ShowDisk, c);
       },
       Role::operator_},
      {"disk.online",
       "disk online",
       Kind::disk,
       {kDiskName},
       ClaimRule::object,
       false,
       false,
       "bring a disk online",
       "Brings the disk NAME back online.",
       "disk",
       Printer::line,
       "disk {name} is {state}",
       [](Call& c) { return Then(c.ctl.DiskOnline(c.args.Str("name")), ShowDisk, c); },
       Role::operator_},
      {"disk.set-readonly",
       "disk set-readonly",
       Kind::disk,
       {kDiskName, Pos("read_only", ArgType::on_off, "on|off")},
       ClaimRule::object,
       false,
       false,
       "make a disk read-only (on) or writable (off)",
       "Makes the disk NAME read-only (on) or writable (off).",
       "disk",
       Printer::read_only,
       {},
       [](Call& c) {
         return Then(c.ctl.DiskSetReadOnly(c.args.Str("name"), c.args.Flag("read_only")), ShowDisk,
                     c);
       }},
      // ---- volumes
      {"volume.create",
       "volume create",
       Kind::volume,
       {kVolumeName,
        Opt("disk", ArgType::name, true, "--disk", "DISK", "the disk holding the volume", "disk"),
        Opt("size", ArgType::size, true, "--size", "BYTES",
            "size of the volume, a multiple of 512"),
        Opt("offset", ArgType::size, false, "--offset", "BYTES",
            "where the volume starts on the disk (default: the lowest free 1M-aligned gap)"),
        Number("queues", "--queues", "number of ublk queues (default: one per CPU)", 1, kMaxQueues,
               "queues must be 1..64"),
        Number("depth", "--depth",
               "depth of each queue: a power of two, at most 4096 (default 128)", 1, kMaxDepth,
               "depth must be a power of two in 1..4096"),
        Opt("backend", ArgType::backend, false, "--backend", "file|null|mem",
            "where the data goes (default: file)"),
        Flag("--system", "the system volume: it is never taken offline")},
       ClaimRule::new_volume,
       false,
       false,
       "create a volume on a disk, exposed as /dev/ublkbN",
       "Creates the volume NAME, an extent of DISK exposed as a ublk block device.",
       "volume",
       Printer::created,
       {},
       [](Call& c) {
         Volume v;
         v.name = c.args.Str("name");
         v.disk = c.args.Str("disk");
         v.size = c.args.U64("size");
         v.offset = c.args.Has("offset") ? c.args.U64("offset") : 0;
         if (c.args.Has("queues")) v.queues = static_cast<std::uint16_t>(c.args.U64("queues"));
         if (c.args.Has("depth")) v.depth = static_cast<std::uint16_t>(c.args.U64("depth"));
         if (c.args.Has("backend")) BLKGATE_TRY(ParseBackend(c.args.Str("backend"), &v.backend));
         v.system = c.args.Flag("system");
         return Then(c.ctl.VolumeCreate(std::move(v), !c.args.Has("offset")), ShowVolume, c);
       }},
      {"volume.list",
       "volume list",
       Kind::volume,
       {},
       ClaimRule::none,
       true,
       false,
       "list the volumes",
       "Prints a table of the volumes: NAME, DEVICE, SIZE, STATE, DISK, OFFSET, MOUNTS.",
       "`{\"volumes\": [volume]}`",
       Printer::volumes,
       {},
       [](Call& c) {
         *c.data = VolumesView(c.ctl);
         return Result::Ok();
       },
       Role::operator_},
      {"volume.show",
       "volume show",
       Kind::volume,
       {kVolumeName},
       ClaimRule::none,
       true,
       false,
       "show one volume",
       "Prints the volume's fields and counters as `key: value` lines.",
       "volume",
       Printer::show_volume,
       {},
       ShowVolume,
       Role::operator_},
      {"volume.delete",
       "volume delete",
       Kind::volume,
       {kVolumeName},
       ClaimRule::object,
       false,
       false,
       "delete a volume",
       "Deletes the volume NAME and its device.",
       "`{}`",
       Printer::line,
       "volume {name} deleted",
       [](Call& c) { return c.ctl.VolumeDelete(c.args.Str("name")); }},
      {"volume.offline",
       "volume offline",
       Kind::volume,
       {kVolumeName, kForceOffline},
       ClaimRule::object,
       false,
       false,
       "take a volume offline",
       "Takes the volume NAME offline: I/O to its device is refused.",
       "volume",
       Printer::line,
       "volume {name} is {state}",
       [](Call& c) {
         return Then(c.ctl.VolumeOffline(c.args.Str("name"), c.args.Flag("force")), ShowVolume, c);
       },
       Role::operator_},
      {"volume.online",
       "volume online",
       Kind::volume,
       {kVolumeName},
       ClaimRule::object,
       false,
       false,
       "bring a volume online",
       "Brings the volume NAME back online.",
       "volume",
       Printer::line,
       "volume {name} is {state}",
       [](Call& c) { return Then(c.ctl.VolumeOnline(c.args.Str("name")), ShowVolume, c); },
       Role::operator_},
      {"volume.dismount",
       "volume dismount",
       Kind::volume,
       {kVolumeName, Flag("--force", "dismount even when files are open (they are shut down)"),
        Flag("--permanent", "keep it dismounted; refused while access paths remain")},
       ClaimRule::object,
       false,
       false,
       "unmount a volume's file system",
       "Unmounts the file system of the volume NAME from its access paths.",
       "volume",
       Printer::dismounted,
       {},
       [](Call& c) {
         return Then(c.ctl.VolumeDismount(c.args.Str("name"), c.args.Flag("force"),
                                          c.args.Flag("permanent")),
                     ShowVolume, c);
       },
       Role::operator_},
      {"volume.mount",
       "volume mount",
       Kind::volume,
       {kVolumeName},
       ClaimRule::object,
       false,
       false,
       "mount a dismounted volume again",
       "Mounts the volume NAME on its access paths again after a dismount.",
       "volume",
       Printer::mounted,
       {},
       [](Call& c) { return Then(c.ctl.VolumeMount(c.args.Str("name")), ShowVolume, c); },
       Role::operator_},
      {"volume.path.add",
       "volume path add",
       Kind::volume,
       {kVolumeName, Pos("path", ArgType::dir, "DIR"),
        Opt("options", ArgType::mount_opts, false, "--options", "OPTS",
            "mount options: ro, noexec, noatime, strictatime, nodiratime (nosuid,nodev always)")},
       ClaimRule::object,
       false,
       false,
       "add an access path (mount point) to a volume",
       "Adds DIR as an access path of the volume NAME and mounts the volume there, now and at\n"
       "every mount, online and start. DIR is made absolute before it is sent; no component of\n"
       "it may be a symbolic link (permission-denied), then or later. The mount is always\n"
       "nosuid,nodev; --options adds ro, noexec, noatime, strictatime or nodiratime (rw, exec\n"
       "and relatime are the defaults; suid and dev are never allowed).",
       "volume",
       Printer::line,
       "volume {name}: access path {path} added",
       [](Call& c) {
         MountOptions options;
         if (c.args.Has("options")) {
           BLKGATE_TRY(ParseMountOptions(c.args.Str("options"), &options));
         }
         return Then(c.ctl.PathAdd(c.args.Str("name"), c.args.Str("path"), options), ShowVolume, c);
       }},
      {"volume.path.remove",
       "volume path remove",
       Kind::volume,
       {kVolumeName, Pos("path", ArgType::dir, "DIR")},
       ClaimRule::object,
       false,
       false,
       "remove an access path from a volume",
       "Removes the access path DIR of the volume NAME.",
       "volume",
       Printer::line,
       "volume {name}: access path {path} removed",
       [](Call& c) {
         return Then(c.ctl.PathRemove(c.args.Str("name"), c.args.Str("path")), ShowVolume, c);
       }},
      {"volume.path.list",
       "volume path list",
       Kind::volume,
       {kVolumeName},
       ClaimRule::none,
       true,
       false,
       "list a volume's access paths",
       "Prints the access paths of NAME, one a line, each with its mount options.",
       "`{\"access_paths\": [{\"path\", \"options\"}...]}`",
       Printer::paths,
       {},
       [](Call& c) {
         const std::string& name = c.args.Str("name");
         BLKGATE_TRY(c.ctl.CheckExists(Kind::volume, name));
         *c.data = {{"access_paths", AccessPathsView(*c.ctl.catalog().volume(name))}};
         return Result::Ok();
       },
       Role::operator_},
      // ---- resources and the rest
      {"resource.offline",
       "offline",
       Kind::volume,
       {Pos("name", ArgType::object_ref, "KIND/NAME")},
       ClaimRule::resource,
       false,
       false,
       "take a drive, disk or volume offline (KIND/NAME)",
       "Takes the object offline, with whatever depends on it. KIND is drive, disk or volume:\n"
       "`blkgatectl offline disk/k0`.",
       "`{\"changed\": [{\"kind\", \"name\", \"state\"}...]}`",
       Printer::changes,
       {},
       [](Call& c) { return Resource(c, false); },
       Role::operator_},
      {"resource.online",
       "online",
       Kind::volume,
       {Pos("name", ArgType::object_ref, "KIND/NAME")},
       ClaimRule::resource,
       false,
       false,
       "bring a drive, disk or volume online (KIND/NAME)",
       "Brings the object online again. KIND is drive, disk or volume:\n"
       "`blkgatectl online volume/v0`.",
       "`{\"changed\": [{\"kind\", \"name\", \"state\"}...]}`",
       Printer::changes,
       {},
       [](Call& c) { return Resource(c, true); },
       Role::operator_},
      {"refresh",
       "refresh",
       Kind::drive,
       {},
       ClaimRule::all_drives,
       false,
       false,
       "re-check the drives' backing stores",
       "Re-reads the drives' backing stores (after cache-corrupt) and prints them.",
       "`{\"drives\": [drive], \"changed\": [NAME...]}`",
       Printer::drives,
       {},
       [](Call& c) {
         std::vector<std::string> changed;
         BLKGATE_TRY(c.ctl.Refresh(&changed));
         *c.data = DrivesView(c.ctl);
         (*c.data)["changed"] = changed;
         return Result::Ok();
       }},
      {"list",
       "list",
       Kind::volume,
       {Flag("--names",
             "print only every object as KIND/NAME, one a line (for scripts and "
             "completion)")},
       ClaimRule::none,
       true,
       false,
       "list drives, disks and volumes",
       "Prints the tables of drive list, disk list and volume list; with --names only\n"
       "drive/NAME, disk/NAME and volume/NAME lines (the reply's data is the same).",
       "`{\"drives\": [drive], \"disks\": [disk], \"volumes\": [volume]}`",
       Printer::list,
       {},
       [](Call& c) {
         *c.data = DrivesView(c.ctl);
         c.data->update(DisksView(c.ctl));
         c.data->update(VolumesView(c.ctl));
         return Result::Ok();
       },
       Role::operator_},
      {"results",
       "results",
       Kind::volume,
       {},
       ClaimRule::none,
       true,
       true,
       "list every result name with its exit status (no daemon needed)",
       "Prints every result a call can end with: NAME, EXIT status and MEANING. Scripts read "
       "the\nexit-code table from here (`blkgatectl --json results`).",
       "answered by blkgatectl: `{\"results\": [{\"name\", \"exit\", \"meaning\"}...]}`",
       Printer::results,
       {},
       nullptr,
       Role::operator_},
      {"stats",
       "stats",
       Kind::volume,
       {ArgSpec{"name", ArgType::name, ArgForm::positional, false, "NAME", {}, {}, "volume"},
        kWatch,
        Local(Number("count", "--count", "with --watch: exit after N reports", 1, 65535,
                     "--count must be 1 to 65535")),
        Local(Flag("--prometheus", "print Prometheus' text exposition format instead"))},
       ClaimRule::none,
       true,
       false,
       "I/O statistics per volume and queue (iostat -x style, or Prometheus text)",
       "Prints, for every running volume (or NAME) and each of its queues, reads and writes per\n"
       "second, their bandwidth, latency percentiles (p50, p99, p99.9), and refused and parked\n"
       "requests. The first report counts since the device started; with --watch SECS each\n"
       "later one covers the SECS since the one before (rates from two samples, as iostat).\n"
       "--prometheus prints the counters and latency histograms in Prometheus' text format,\n"
       "for node_exporter's textfile collector. --json prints the same report as JSON.",
       "`{\"time_ns\", \"volumes\": [{\"name\", \"running\", \"queues\": [queue sample]}]}`",
       Printer::stats,
       {},
       Stats,
       Role::operator_},
      {"monitor",
       "monitor",
       Kind::volume,
       {Flag("--replay",
             "first the events the daemon still keeps (its last 256, its start's among them)"),
        Local(Number("count", "--count", "exit after N events (default: run until interrupted)", 1,
                     65535, "--count must be 1 to 65535"))},
       ClaimRule::none,
       true,
       false,
       "print every state change as it happens (udevadm monitor style)",
       "Subscribes to the daemon's events and prints one line per state change of a drive,\n"
       "disk or volume: its old and new state and the cause (a call and its operation, a\n"
       "backend error, a hook's veto, the daemon's start). Runs until interrupted, or until\n"
       "--count events were printed. A subscriber too slow to take its events loses them and\n"
       "is told how many (a \"lost\" line).",
       "`{\"seq\"}`, then one `{\"v\": 1, \"event\": {...}}` line per event",
       Printer::events,
       {},
       nullptr,
       Role::operator_,
       true},
      {"ping",
       "ping",
       Kind::volume,
       {},
       ClaimRule::none,
       true,
       false,
       "check that the daemon answers",
       "Prints the daemon's version and pid.",
       "`{\"version\", \"pid\"}`",
       Printer::ping,
       {},
       [](Call& c) {
         *c.data = {{"version", kVersion}, {"pid", ::getpid()}};
         return Result::Ok();
       },
       Role::operator_},
      {"shutdown",
       "shutdown",
       Kind::volume,
       {Flag("--keep-devices",
             "leave every device for the next blkgate to recover (its requests wait)")},
       ClaimRule::none,
       false,
       false,
       "stop the daemon (root only)",
       "Stops the daemon once running calls have finished. Without --keep-devices this is\n"
       "SIGTERM's clean stop: every device is stopped and deleted. With it (a planned\n"
       "handover, e.g. an upgrade) the queue threads finish what is in flight and exit, and\n"
       "every device stays, mounts and open files included, for the next blkgate on the same\n"
       "state dir to recover; requests issued meanwhile wait. Wait for the pid to exit before\n"
       "starting the next daemon.",
       "`{\"pid\", \"devices\": \"kept\" or \"stopped\"}`",
       Printer::line,
       "blkgate (pid {pid}) is stopping; its devices will be {devices}",
       [](Call& c) {
         const bool keep = c.args.Flag("keep-devices");
         BLKGATE_TRY(c.ctl.Shutdown(keep));
         *c.data = {{"pid", ::getpid()}, {"devices", keep ? "kept" : "stopped"}};
         return Result::Ok();
       }},
  };
  return table;
}

}  // namespace blkgate::ops
