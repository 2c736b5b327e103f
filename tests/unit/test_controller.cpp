// The gate's state machine against a fake world: every seed method and result.
#include <catch2/catch.hpp>
#include <map>
#include <set>

#include "blkgate/controller.h"
#include "blkgate/gate.h"
#include "fake_platform.h"

using namespace blkgate;
using blkgate::testing::FakePlatform;

namespace {

constexpr std::uint64_t MiB = 1ull << 20;

struct World {
  FakePlatform p;
  Catalog c;
  Controller ctl{&p, &c};
  World() {
    for (auto [path, ino] :
         {std::pair{"/a.img", 10}, std::pair{"/b.img", 11}, std::pair{"/x.img", 12}})
      p.files[path] = {DriveIdentity{1, static_cast<std::uint64_t>(ino), false}, 8 * MiB};
    REQUIRE(c.AddDrive({"a", "/a.img", 8 * MiB, DriveStatus::online, {1, 10, false}}).ok());
    REQUIRE(c.AddDrive({"b", "/b.img", 8 * MiB, DriveStatus::online, {1, 11, false}}).ok());
    REQUIRE(c.AddDrive({"x", "/x.img", 8 * MiB, DriveStatus::online, {1, 12, false}}).ok());
    REQUIRE(c.CreateDisk("d", {"a", "b"}).ok());
    REQUIRE(c.CreateDisk("e", {"x"}).ok());
    for (auto [n, disk, off] :
         {std::tuple{"v", "d", std::uint64_t{0}}, std::tuple{"w", "d", 10 * MiB},
          std::tuple{"u", "e", std::uint64_t{0}}}) {
      Volume v;
      v.name = n;
      v.disk = disk;
      v.offset = off;
      v.size = 4 * MiB;
      REQUIRE(c.CreateVolume(v).ok());
    }
  }
  Volume& vol(const std::string& n) { return *c.volume(n); }
};

}  // namespace

TEST_CASE("volume offline: dismounts first, gates with a grace period, claims, is idempotent") {
  World w;
  w.p.mounts["v"] = {"/mnt/a"};
  REQUIRE(w.ctl.VolumeOffline("v", false).ok());
  REQUIRE(w.vol("v").offline);
  REQUIRE(w.vol("v").dismount == Dismount::temporary);
  REQUIRE(w.p.words["v"] == gate::kOffline);
  REQUIRE(w.p.waits["v"] == 1);
  REQUIRE(w.p.claimed.count("v"));
  REQUIRE(w.p.mounts["v"].empty());
  // Order: the file system goes before the gate closes (volume-offline + disk-offline seeds).
  REQUIRE(w.p.log == std::vector<std::string>{"umount /mnt/a", "gate v"});
  REQUIRE(w.p.hooks == std::vector<std::string>{"pre-offline volume/v", "post-offline volume/v"});
  int persists = w.p.persists;
  REQUIRE(w.ctl.VolumeOffline("v", false).ok());  // already offline: ok, nothing done
  REQUIRE(w.p.persists == persists);
  REQUIRE(w.p.waits["v"] == 1);
  REQUIRE(w.ctl.StateOf(Kind::volume, "v") == ResourceState::offline);
  // Other volumes are untouched.
  REQUIRE(w.p.words.count("w") == 0);
}

TEST_CASE("volume offline: in use, forced, unsupported, system, vetoed, unknown") {
  World w;
  w.p.mounts["v"] = {"/mnt/a"};
  w.p.busy.insert("/mnt/a");
  Catalog before = w.c;
  Result r = w.ctl.VolumeOffline("v", false);
  REQUIRE(r.code() == Code::device_in_use);
  REQUIRE(r.message().find("/mnt/a") != std::string::npos);
  REQUIRE(w.c == before);
  REQUIRE(w.p.mounts["v"].size() == 1);
  REQUIRE(w.p.words.empty());

  w.p.no_shutdown.insert("/mnt/a");
  REQUIRE(w.ctl.VolumeOffline("v", true).code() == Code::not_supported);
  REQUIRE(w.c == before);
  w.p.no_shutdown.clear();
  REQUIRE(w.ctl.VolumeOffline("v", true).ok());
  REQUIRE(w.p.log.front() == "shutdown /mnt/a");

  w.vol("w").system = true;
  REQUIRE(w.ctl.VolumeOffline("w", false).code() == Code::system_volume);
  w.p.system.insert("u");
  REQUIRE(w.ctl.VolumeOffline("u", true).code() == Code::system_volume);
  REQUIRE_FALSE(w.vol("u").offline);

  REQUIRE(w.ctl.VolumeOffline("nope", false).code() == Code::not_found);
}

TEST_CASE("a pre-offline hook can veto; a failed persist changes nothing") {
  World w;
  w.p.veto = "pre-offline volume/v";
  Result r = w.ctl.VolumeOffline("v", false);
  REQUIRE(r.code() == Code::device_in_use);
  REQUIRE(r.message().find("hook 'x' exited 1") != std::string::npos);
  REQUIRE_FALSE(w.vol("v").offline);
  w.p.veto.clear();
  w.p.mounts["v"] = {"/mnt/a"};
  w.p.fail_persist = true;
  REQUIRE(w.ctl.VolumeOffline("v", false).code() == Code::io_error);
  REQUIRE_FALSE(w.vol("v").offline);
  REQUIRE(w.p.mounts["v"] == std::vector<std::string>{"/mnt/a"});  // remounted
  REQUIRE(w.p.words.empty());
}

TEST_CASE("an unsafe hook fails every pre-* transition with permission-denied, nothing changed") {
  World w;
  w.p.veto_code = Code::permission_denied;
  w.p.mounts["v"] = {"/mnt/a"};
  w.p.veto = "pre-offline volume/v";
  Result r = w.ctl.VolumeOffline("v", false);
  REQUIRE(r.code() == Code::permission_denied);
  REQUIRE(r.message() == "hook 'x' exited 1");  // the platform's message as is
  REQUIRE_FALSE(w.vol("v").offline);
  REQUIRE(w.p.mounts["v"] == std::vector<std::string>{"/mnt/a"});
  // Disk offline: permission-denied too, not failed-to-offline-disk, for its volumes' hooks and
  // its own.
  REQUIRE(w.ctl.DiskOffline("d", false).code() == Code::permission_denied);
  w.p.veto = "pre-offline disk/d";
  REQUIRE(w.ctl.DiskOffline("d", false).code() == Code::permission_denied);
  REQUIRE_FALSE(w.c.disk("d")->offline);
  w.p.veto = "pre-offline drive/a";
  REQUIRE(w.ctl.DriveSetStatus("a", "offline").code() == Code::permission_denied);
  REQUIRE(w.c.drive("a")->status == DriveStatus::online);
  w.p.veto.clear();
  REQUIRE(w.ctl.VolumeOffline("v", false).ok());
  w.p.veto = "pre-online volume/v";
  REQUIRE(w.ctl.VolumeOnline("v").code() == Code::permission_denied);
  REQUIRE(w.vol("v").offline);
  REQUIRE(w.p.persists == 1);
  // Any other veto of a disk offline stays failed-to-offline-disk.
  w.p.veto_code = Code::device_in_use;
  w.p.veto = "pre-offline disk/e";
  r = w.ctl.DiskOffline("e", false);
  REQUIRE(r.code() == Code::failed_to_offline_disk);
  REQUIRE(r.message() == "disk 'e': pre-offline hook refused: hook 'x' exited 1");
}

TEST_CASE("volume online remounts a temporarily dismounted volume and releases the claim") {
  World w;
  w.vol("v").access_paths = {{"/mnt/a", {}}};
  w.p.mounts["v"] = {"/mnt/a"};
  REQUIRE(w.ctl.VolumeOffline("v", false).ok());
  REQUIRE(w.ctl.VolumeOnline("v").ok());
  REQUIRE_FALSE(w.vol("v").offline);
  REQUIRE(w.vol("v").dismount == Dismount::none);
  REQUIRE(w.p.words["v"] == 0);
  REQUIRE_FALSE(w.p.claimed.count("v"));
  REQUIRE(w.p.mounts["v"] == std::vector<std::string>{"/mnt/a"});
  REQUIRE(w.ctl.VolumeOnline("v").ok());  // idempotent
  // The disk must be online first.
  REQUIRE(w.ctl.DiskOffline("d", false).ok());
  REQUIRE(w.ctl.VolumeOnline("w").code() == Code::invalid_state);  // offline through its disk
  REQUIRE(w.ctl.VolumeOffline("v", false).ok());
  REQUIRE(w.ctl.VolumeOnline("v").code() == Code::invalid_state);
}

TEST_CASE("dismount: every result of volume-dismount.md") {
  World w;
  w.p.mounts["v"] = {"/mnt/a", "/mnt/b"};
  w.p.busy.insert("/mnt/b");
  REQUIRE(w.ctl.VolumeDismount("v", false, false).code() == Code::device_in_use);
  REQUIRE(w.p.mounts["v"].size() == 2);  // probed, nothing unmounted
  REQUIRE(w.vol("v").dismount == Dismount::none);
  REQUIRE(w.ctl.VolumeDismount("v", true, false).ok());  // forced
  REQUIRE(w.p.mounts["v"].empty());
  REQUIRE(w.vol("v").dismount == Dismount::temporary);
  REQUIRE(w.ctl.VolumeDismount("v", false, false).code() == Code::temporarily_dismounted);
  REQUIRE(w.ctl.VolumeDismount("v", false, true).code() == Code::temporarily_dismounted);
  REQUIRE(w.ctl.VolumeMount("v").ok());
  REQUIRE(w.vol("v").dismount == Dismount::none);

  w.vol("w").access_paths = {{"/mnt/c", {}}};
  REQUIRE(w.ctl.VolumeDismount("w", false, true).code() == Code::has_access_path);
  REQUIRE(w.ctl.PathRemove("w", "/mnt/c").ok());
  REQUIRE(w.ctl.VolumeDismount("w", false, true).ok());
  REQUIRE(w.vol("w").dismount == Dismount::permanent);
  REQUIRE(w.p.claimed.count("w"));
  REQUIRE(w.ctl.VolumeDismount("w", false, false).code() == Code::permanently_dismounted);
  // Stays unmountable until `volume mount` or `path add`.
  REQUIRE(w.ctl.PathAdd("w", "/mnt/c", {}).ok());
  REQUIRE(w.vol("w").dismount == Dismount::none);
  REQUIRE_FALSE(w.p.claimed.count("w"));
  REQUIRE(w.p.mounts["w"] == std::vector<std::string>{"/mnt/c"});
}

TEST_CASE("access paths: add mounts, remove unmounts, errors change nothing") {
  World w;
  REQUIRE(w.ctl.PathAdd("v", "/mnt/a", {}).ok());
  REQUIRE(w.vol("v").access_paths == std::vector<AccessPath>{{"/mnt/a", {}}});
  REQUIRE(w.p.mounts["v"] == std::vector<std::string>{"/mnt/a"});
  REQUIRE(w.ctl.PathAdd("v", "/mnt/a", {}).code() == Code::already_exists);
  REQUIRE(w.ctl.PathAdd("w", "/mnt/a", {}).code() == Code::device_in_use);
  REQUIRE(w.ctl.PathAdd("v", "/nowhere", {}).code() == Code::not_found);
  REQUIRE(w.ctl.PathAdd("v", "rel", {}).code() == Code::invalid_argument);
  w.p.unmountable.insert("/mnt/b");
  REQUIRE(w.ctl.PathAdd("v", "/mnt/b", {}).code() == Code::io_error);
  REQUIRE(w.vol("v").access_paths.size() == 1);
  REQUIRE(w.ctl.PathRemove("v", "/mnt/b").code() == Code::not_found);
  w.p.busy.insert("/mnt/a");
  REQUIRE(w.ctl.PathRemove("v", "/mnt/a").code() == Code::device_in_use);
  REQUIRE(w.vol("v").access_paths.size() == 1);
  w.p.busy.clear();
  REQUIRE(w.ctl.PathRemove("v", "/mnt/a").ok());
  REQUIRE(w.vol("v").access_paths.empty());
  REQUIRE(w.p.mounts["v"].empty());
  REQUIRE(w.ctl.VolumeOffline("v", false).ok());
  REQUIRE(w.ctl.PathAdd("v", "/mnt/a", {}).code() == Code::not_ready);
  REQUIRE(w.ctl.VolumeMount("v").code() == Code::not_ready);
}

TEST_CASE("access path add saves the path before mounting, and restores the state on failure") {
  World w;
  // A mount outlives a crash of the daemon: it must never exist before the path is saved.
  w.p.fail_persist = true;
  REQUIRE(w.ctl.PathAdd("v", "/mnt/a", {}).code() == Code::io_error);
  for (const std::string& e : w.p.log) REQUIRE(e.rfind("mount ", 0) != 0);
  REQUIRE(w.p.mounts["v"].empty());
  w.p.fail_persist = false;
  const int saved = w.p.persists;
  w.p.unmountable.insert("/mnt/b");
  REQUIRE(w.ctl.PathAdd("v", "/mnt/b", {}).code() == Code::io_error);
  REQUIRE(w.p.persists == saved + 2);  // the path, then the state as it was
  REQUIRE(w.vol("v").access_paths.empty());
}

TEST_CASE("disk offline: dismount every volume, then offline; a busy volume blocks all") {
  World w;
  w.p.mounts["v"] = {"/mnt/a"};
  w.p.mounts["w"] = {"/mnt/b"};
  w.p.busy.insert("/mnt/b");
  Catalog before = w.c;
  Result r = w.ctl.DiskOffline("d", false);
  REQUIRE(r.code() == Code::failed_to_offline_disk);
  REQUIRE(r.message().find("volume 'w'") != std::string::npos);
  REQUIRE(w.c == before);
  REQUIRE(w.p.mounts["v"] == std::vector<std::string>{"/mnt/a"});  // nothing unmounted
  REQUIRE(w.p.words.empty());

  w.p.busy.clear();
  REQUIRE(w.ctl.DiskOffline("d", false).ok());
  REQUIRE(w.c.disk("d")->offline);
  REQUIRE(w.p.words["v"] == gate::kOffline);
  REQUIRE(w.p.words["w"] == gate::kOffline);
  REQUIRE(w.p.words.count("u") == 0);
  REQUIRE(w.p.claimed == std::set<std::string>{"v", "w"});
  // Every dismount happens before any gate closes.
  auto first_gate =
      std::find_if(w.p.log.begin(), w.p.log.end(), [](auto& s) { return s.rfind("gate", 0) == 0; });
  for (auto it = first_gate; it != w.p.log.end(); ++it) REQUIRE(it->rfind("umount", 0) != 0);
  REQUIRE(w.ctl.StateOf(Kind::volume, "v") == ResourceState::offline);
  REQUIRE(w.ctl.DiskOffline("d", false).ok());  // idempotent

  REQUIRE(w.ctl.DiskOnline("d").ok());
  REQUIRE(w.p.words["v"] == 0);
  REQUIRE(w.p.claimed.empty());
}

TEST_CASE("disk offline with a system volume fails naming it") {
  World w;
  w.p.system.insert("w");
  Result r = w.ctl.DiskOffline("d", false);
  REQUIRE(r.code() == Code::failed_to_offline_disk);
  REQUIRE(r.message().find("'w'") != std::string::npos);
  REQUIRE_FALSE(w.c.disk("d")->offline);
}

TEST_CASE("disk read-only: writes refused by the gate, device flagged, refused while mounted") {
  World w;
  w.p.mounts["v"] = {"/mnt/a"};
  REQUIRE(w.ctl.DiskSetReadOnly("d", true).code() == Code::device_in_use);
  REQUIRE_FALSE(w.c.disk("d")->read_only);
  w.p.mounts["v"].clear();
  REQUIRE(w.ctl.DiskSetReadOnly("d", true).ok());
  REQUIRE(w.c.disk("d")->read_only);
  REQUIRE(w.p.ro["v"]);
  REQUIRE(w.p.ro["w"]);
  REQUIRE(gate::decide(w.p.words["v"], gate::OpClass::write, 0, 0) == -EROFS);
  REQUIRE(gate::decide(w.p.words["v"], gate::OpClass::read, 0, 0) == 0);
  REQUIRE(w.ctl.DiskSetReadOnly("d", false).ok());
  REQUIRE_FALSE(w.p.ro["v"]);
  REQUIRE(w.p.words["v"] == 0);
}

TEST_CASE("drive set-status: results of drive-set-status.md") {
  World w;
  REQUIRE(w.ctl.DriveSetStatus("a", "unknown").code() == Code::invalid_argument);
  REQUIRE(w.ctl.DriveSetStatus("a", "bogus").code() == Code::invalid_argument);
  REQUIRE(w.ctl.DriveSetStatus("zz", "offline").code() == Code::not_found);
  REQUIRE(w.ctl.DriveSetStatus("a", "offline").ok());
  REQUIRE(w.p.flushed == std::vector<std::string>{"a"});  // cache flushed before offline
  REQUIRE(std::find(w.p.log.begin(), w.p.log.end(), "flush a") <
          std::find(w.p.log.begin(), w.p.log.end(), "gate v"));
  // v lies on a only (slot 0); w lies on b only.
  REQUIRE(gate::decide(w.p.words["v"], gate::OpClass::read, 0, 0) == -ENODEV);
  REQUIRE(gate::decide(w.p.words["w"], gate::OpClass::read, 1, 1) == 0);  // w lies on b: slot 1
  REQUIRE(w.ctl.DriveSetStatus("a", "online").ok());
  REQUIRE(w.p.words["v"] == 0);

  REQUIRE(w.ctl.DriveFailed("b").ok());
  REQUIRE(gate::decide(w.p.words["w"], gate::OpClass::read, 1, 1) == -EIO);
  REQUIRE(w.ctl.DriveSetStatus("b", "online").code() == Code::object_failed);
  REQUIRE(w.ctl.DriveSetStatus("b", "offline").ok());
  REQUIRE(w.ctl.DriveSetStatus("b", "online").ok());

  REQUIRE(w.ctl.DriveSetStatus("a", "not-ready").ok());
  REQUIRE(gate::decide(w.p.words["v"], gate::OpClass::write, 0, 0) == gate::kPark);
  REQUIRE(w.ctl.StateOf(Kind::drive, "a") == ResourceState::online_pending);
}

TEST_CASE("drive set-status: a failed drive leaves failed only by going offline") {
  World w;
  REQUIRE(w.ctl.DriveFailed("b").ok());
  // not-ready would park its requests and let the next online skip the acknowledgement.
  const std::uint64_t failed_word = w.p.words["w"];
  REQUIRE(w.ctl.DriveSetStatus("b", "not-ready").code() == Code::object_failed);
  REQUIRE(w.ctl.DriveSetStatus("b", "online").code() == Code::object_failed);
  REQUIRE(w.c.drive("b")->status == DriveStatus::failed);  // nothing changed
  REQUIRE(w.p.words["w"] == failed_word);
  REQUIRE(w.ctl.DriveSetStatus("b", "failed").ok());   // already: ok, as any repeat
  REQUIRE(w.ctl.DriveSetStatus("b", "offline").ok());  // the acknowledgement
  REQUIRE(w.ctl.DriveSetStatus("b", "not-ready").ok());
  REQUIRE(w.ctl.DriveSetStatus("b", "online").ok());
}

TEST_CASE("an offline drive shows in its disk's and volumes' state") {
  World w;
  // v and w lie on disk d (drives a and b); u on disk e (drive x).
  REQUIRE(w.ctl.DriveSetStatus("a", "offline").ok());
  CHECK(w.ctl.StateOf(Kind::drive, "a") == ResourceState::offline);
  CHECK(w.ctl.StateOf(Kind::disk, "d") == ResourceState::offline);
  CHECK(w.ctl.StateOf(Kind::volume, "v") == ResourceState::offline);  // on a: -ENODEV
  CHECK(w.ctl.StateOf(Kind::volume, "u") == ResourceState::online);
  CHECK_FALSE(w.vol("v").offline);  // the volume's own state is unchanged
  // The worst drive decides: failed > not-ready > offline > online.
  REQUIRE(w.ctl.DriveSetStatus("b", "not-ready").ok());
  CHECK(w.ctl.StateOf(Kind::disk, "d") == ResourceState::online_pending);
  REQUIRE(w.ctl.DriveSetStatus("b", "online").ok());
  REQUIRE(w.ctl.DriveFailed("b").ok());
  CHECK(w.ctl.StateOf(Kind::disk, "d") == ResourceState::failed);
  REQUIRE(w.ctl.DriveSetStatus("b", "offline").ok());
  REQUIRE(w.ctl.DriveSetStatus("b", "online").ok());
  REQUIRE(w.ctl.DriveSetStatus("a", "online").ok());
  CHECK(w.ctl.StateOf(Kind::volume, "v") == ResourceState::online);
  CHECK(w.ctl.StateOf(Kind::disk, "d") == ResourceState::online);
}

TEST_CASE("cache-corrupt until refresh; object-deleted after remove") {
  World w;
  w.p.files["/x.img"] = {DriveIdentity{1, 99, false}, 8 * MiB};  // replaced file
  Result r = w.ctl.DriveSetStatus("x", "offline");
  REQUIRE(r.code() == Code::cache_corrupt);
  REQUIRE(r.message().find("refresh") != std::string::npos);
  REQUIRE(w.c.drive("x")->status == DriveStatus::online);
  std::vector<std::string> changed;
  REQUIRE(w.ctl.Refresh(&changed).ok());
  REQUIRE(changed == std::vector<std::string>{"x"});
  REQUIRE(w.c.drive("x")->identity.ino == 99);
  REQUIRE(w.ctl.DriveSetStatus("x", "offline").ok());

  w.p.files["/a.img"] = {DriveIdentity{1, 10, false}, 4 * MiB};  // shrank under its disk
  REQUIRE(w.ctl.DriveSetStatus("a", "offline").code() == Code::cache_corrupt);
  REQUIRE(w.ctl.Refresh(&changed).code() == Code::invalid_state);

  // A store that grew under its disk still holds every byte the disk uses: not a change, and
  // refresh changes nothing for it (the disk keeps its size).
  w.p.files["/a.img"] = {DriveIdentity{1, 10, false}, 16 * MiB};
  REQUIRE(w.ctl.Refresh(&changed).ok());
  REQUIRE(w.c.drive("a")->size == 8 * MiB);
  REQUIRE(w.ctl.DriveSetStatus("a", "offline").ok());

  REQUIRE(w.c.AddDrive({"f", "/f.img", MiB, DriveStatus::online, {1, 20, false}}).ok());
  REQUIRE(w.ctl.DriveRemove("f").ok());
  REQUIRE(w.ctl.DriveSetStatus("f", "offline").code() == Code::object_deleted);
  REQUIRE(w.ctl.DriveRemove("f").code() == Code::object_deleted);
  REQUIRE(w.ctl.DriveRemove("a").code() == Code::device_in_use);
}

TEST_CASE("resources: dependents go offline first, failed resources offline with ok") {
  World w;
  std::vector<Change> changed;
  REQUIRE(w.ctl.ResourceOffline(Kind::drive, "a", &changed).ok());
  REQUIRE(w.c.disk("d")->offline);
  REQUIRE(w.c.drive("a")->status == DriveStatus::offline);
  REQUIRE(w.c.drive("b")->status == DriveStatus::online);
  // volumes, then their disk, then the drive
  REQUIRE(changed.size() == 4);
  REQUIRE(changed[0].kind == Kind::volume);
  REQUIRE(changed[1].kind == Kind::volume);
  REQUIRE(changed[2].kind == Kind::disk);
  REQUIRE(changed[3].kind == Kind::drive);
  REQUIRE(changed[3].state == ResourceState::offline);

  changed.clear();
  REQUIRE(w.ctl.ResourceOnline(Kind::volume, "v", &changed).ok());  // brings drive + disk
  REQUIRE(w.c.drive("a")->status == DriveStatus::online);
  REQUIRE_FALSE(w.c.disk("d")->offline);
  REQUIRE(w.ctl.StateOf(Kind::volume, "v") == ResourceState::online);
  REQUIRE(changed.back().kind == Kind::volume);

  // A failed resource: offline returns ok and leaves it offline.
  REQUIRE(w.ctl.DriveFailed("x").ok());
  REQUIRE(w.ctl.StateOf(Kind::volume, "u") == ResourceState::failed);
  changed.clear();
  REQUIRE(w.ctl.ResourceOffline(Kind::volume, "u", &changed).ok());
  REQUIRE(w.ctl.StateOf(Kind::volume, "u") == ResourceState::offline);
  changed.clear();
  REQUIRE(w.ctl.ResourceOffline(Kind::drive, "x", &changed).ok());
  REQUIRE(w.c.drive("x")->status == DriveStatus::offline);
  REQUIRE(w.ctl.ResourceOnline(Kind::drive, "x", &changed).ok());

  // A pending resource: invalid-state.
  REQUIRE(w.ctl.DriveSetStatus("b", "not-ready").ok());
  REQUIRE(w.ctl.ResourceOffline(Kind::drive, "b", &changed).code() == Code::invalid_state);
  REQUIRE(w.ctl.ResourceOffline(Kind::volume, "w", &changed).code() == Code::invalid_state);
  REQUIRE(w.ctl.ResourceOffline(Kind::volume, "nope", &changed).code() == Code::not_found);
  // Online through a failed drive: object-failed.
  REQUIRE(w.ctl.DriveFailed("b").ok());
  REQUIRE(w.ctl.ResourceOnline(Kind::disk, "d", &changed).code() == Code::object_failed);
}

TEST_CASE("footprints cover dependents for another-call-in-progress") {
  World w;
  REQUIRE(w.ctl.Footprint(Kind::volume, "v") == std::vector<std::string>{"volume/v"});
  REQUIRE(w.ctl.Footprint(Kind::disk, "d") ==
          std::vector<std::string>{"disk/d", "volume/v", "volume/w"});
  REQUIRE(w.ctl.Footprint(Kind::drive, "x") ==
          std::vector<std::string>{"disk/e", "drive/x", "volume/u"});
}

TEST_CASE("object references and kinds parse strictly") {
  Kind k;
  std::string n;
  REQUIRE(ParseObjectRef("volume/v0", &k, &n).ok());
  REQUIRE(k == Kind::volume);
  REQUIRE(n == "v0");
  REQUIRE(ParseObjectRef("disk/d", &k, &n).ok());
  for (const char* bad : {"v0", "pool/x", "volume/", "/v", "volume/a/b"}) {
    INFO(bad);
    REQUIRE(ParseObjectRef(bad, &k, &n).code() == Code::invalid_argument);
  }
}

TEST_CASE("restore: claims offline and permanent volumes, mounts the rest") {
  World w;
  w.vol("v").offline = true;
  w.vol("v").access_paths = {{"/mnt/a", {}}};
  w.vol("w").dismount = Dismount::temporary;
  w.vol("w").access_paths = {{"/mnt/b", {}}};
  w.vol("u").dismount = Dismount::permanent;
  w.c.disk("e")->read_only = true;
  std::vector<std::string> notes;
  w.ctl.Restore(&notes);
  REQUIRE(notes.empty());
  REQUIRE(w.p.claimed == std::set<std::string>{"u", "v"});
  REQUIRE(w.p.mounts["w"] == std::vector<std::string>{"/mnt/b"});
  REQUIRE(w.p.mounts["v"].empty());
  REQUIRE(w.vol("w").dismount == Dismount::none);
  REQUIRE(w.p.ro["u"]);
}
