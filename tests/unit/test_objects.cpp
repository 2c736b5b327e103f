// Creating and deleting drives, disks and volumes through the Controller and the fake
// Platform (every effect checked, every failure leaving the catalog and the world as they
// were), the restore at start, and the JSON views.
#include <catch2/catch.hpp>

#include "blkgate/controller.h"
#include "blkgate/gate.h"
#include "blkgate/views.h"
#include "fake_platform.h"

using namespace blkgate;
using blkgate::testing::FakePlatform;

namespace {

constexpr std::uint64_t MiB = 1ull << 20;

struct Empty {
  FakePlatform p;
  Catalog c;
  Controller ctl{&p, &c};
  Volume Vol(const std::string& name, std::uint64_t size) {
    Volume v;
    v.name = name;
    v.disk = "k";
    v.size = size;
    return v;
  }
  // A drive d on /d.img (created), a disk k on it.
  void DiskOn(std::uint64_t size) {
    REQUIRE(ctl.DriveAdd("d", "/d.img", size).ok());
    REQUIRE(ctl.DiskCreate("k", {"d"}).ok());
  }
};

}  // namespace

TEST_CASE("drive add: an existing file, or created with --size; bad sizes change nothing") {
  Empty w;
  w.p.files["/e.img"] = {DriveIdentity{1, 7, false}, 16 * MiB};
  REQUIRE(w.ctl.DriveAdd("e", "/e.img", std::nullopt).ok());
  REQUIRE(w.c.drive("e")->size == 16 * MiB);
  REQUIRE(w.c.drive("e")->identity.ino == 7);
  REQUIRE(w.ctl.DriveAdd("n", "/new.img", 8 * MiB).ok());
  REQUIRE(w.p.files.count("/new.img"));
  REQUIRE(w.c.drive("n")->size == 8 * MiB);

  const int persists = w.p.persists;
  REQUIRE(w.ctl.DriveAdd("m", "/missing.img", std::nullopt).code() == Code::not_found);
  REQUIRE(w.ctl.DriveAdd("m", "/m.img", 0).code() == Code::invalid_argument);
  REQUIRE(w.ctl.DriveAdd("m", "/m.img", 1000).code() == Code::invalid_argument);
  Result mismatch = w.ctl.DriveAdd("m", "/e.img", 8 * MiB);
  REQUIRE(mismatch.code() == Code::invalid_argument);
  REQUIRE(mismatch.message() == "/e.img exists with size 16777216, not the requested 8388608");
  // A duplicate name is refused before the file is created.
  REQUIRE(w.ctl.DriveAdd("e", "/other.img", 8 * MiB).code() == Code::already_exists);
  REQUIRE_FALSE(w.p.files.count("/other.img"));
  w.p.uncreatable.insert("/ro.img");
  REQUIRE(w.ctl.DriveAdd("m", "/ro.img", 8 * MiB).code() == Code::permission_denied);
  REQUIRE(w.p.persists == persists);
  REQUIRE(w.c.drive("m") == nullptr);
}

TEST_CASE("drive add: a failed persist removes the file it created") {
  Empty w;
  w.p.fail_persist = true;
  REQUIRE_FALSE(w.ctl.DriveAdd("n", "/new.img", 8 * MiB).ok());
  REQUIRE_FALSE(w.p.files.count("/new.img"));
  REQUIRE(w.p.log == std::vector<std::string>{"create /new.img", "remove /new.img"});
  REQUIRE(w.c.drives().empty());
}

TEST_CASE("disk create and delete go through the catalog rules and persist") {
  Empty w;
  REQUIRE(w.ctl.DriveAdd("d", "/d.img", 8 * MiB).ok());
  REQUIRE(w.ctl.DiskCreate("k", {"nope"}).code() == Code::not_found);
  REQUIRE(w.ctl.DiskCreate("k", {"d"}).ok());
  REQUIRE(w.ctl.DiskCreate("k2", {"d"}).code() == Code::device_in_use);
  REQUIRE(w.ctl.DriveRemove("d").code() == Code::device_in_use);
  w.p.fail_persist = true;
  REQUIRE_FALSE(w.ctl.DiskDelete("k").ok());
  REQUIRE(w.c.disk("k") != nullptr);
  w.p.fail_persist = false;
  REQUIRE(w.ctl.DiskDelete("k").ok());
  REQUIRE(w.ctl.DiskDelete("k").code() == Code::not_found);
}

TEST_CASE("volume create: lowest free gap, device started with the right gate word") {
  Empty w;
  w.DiskOn(16 * MiB);
  REQUIRE(w.ctl.VolumeCreate(w.Vol("a", 4 * MiB), true).ok());
  REQUIRE(w.ctl.VolumeCreate(w.Vol("b", 4 * MiB), true).ok());
  REQUIRE(w.c.volume("a")->offset == 0);
  REQUIRE(w.c.volume("b")->offset == 4 * MiB);
  REQUIRE(w.c.volume("a")->dev_id == 0);
  REQUIRE(w.c.volume("b")->dev_id == 1);
  REQUIRE(w.p.words["a"] == 0);
  REQUIRE(w.ctl.VolumeCreate(w.Vol("big", 64 * MiB), true).code() == Code::invalid_argument);
  Volume overlap = w.Vol("o", 4 * MiB);
  overlap.offset = 2 * MiB;
  REQUIRE(w.ctl.VolumeCreate(overlap, false).code() == Code::invalid_argument);
  REQUIRE(w.p.devices.size() == 2);
}

TEST_CASE("volume create on an offline, read-only disk: gated from the start, claimed, ro") {
  Empty w;
  w.DiskOn(16 * MiB);
  REQUIRE(w.ctl.DiskSetReadOnly("k", true).ok());
  REQUIRE(w.ctl.DiskOffline("k", false).ok());
  REQUIRE(w.ctl.VolumeCreate(w.Vol("a", 4 * MiB), true).ok());
  REQUIRE(w.p.words["a"] == EffectiveGateWord(w.c, *w.c.volume("a")));
  REQUIRE(w.p.words["a"] & gate::kOffline);
  REQUIRE(w.p.claimed.count("a"));
  REQUIRE(w.p.ro["a"]);
}

TEST_CASE("volume create: a device that cannot start or a failed persist leaves nothing") {
  Empty w;
  w.DiskOn(16 * MiB);
  w.p.unstartable.insert("a");
  REQUIRE(w.ctl.VolumeCreate(w.Vol("a", 4 * MiB), true).code() == Code::io_error);
  REQUIRE(w.c.volume("a") == nullptr);
  REQUIRE(w.p.devices.empty());
  w.p.fail_persist = true;
  REQUIRE_FALSE(w.ctl.VolumeCreate(w.Vol("b", 4 * MiB), true).ok());
  REQUIRE(w.c.volume("b") == nullptr);
  REQUIRE(w.p.devices.empty());
  for (const std::string& e : w.p.log) REQUIRE(e.rfind("start b", 0) != 0);  // intent first
}

TEST_CASE("volume create persists its intent before the device starts") {
  Empty w;
  w.DiskOn(16 * MiB);
  int persists_at_start = -1;
  w.p.on_start = [&](const std::string&) { persists_at_start = w.p.persists; };
  const int before = w.p.persists;
  REQUIRE(w.ctl.VolumeCreate(w.Vol("a", 4 * MiB), true).ok());
  REQUIRE(persists_at_start == before + 1);  // the volume was saved before its device started
  REQUIRE(w.p.persists == before + 2);       // then its device id
  REQUIRE(w.c.volume("a")->dev_id == w.p.devices["a"]);
}

TEST_CASE("volume delete: refused while mounted or held; otherwise stopped, then forgotten") {
  Empty w;
  w.DiskOn(16 * MiB);
  REQUIRE(w.ctl.VolumeCreate(w.Vol("a", 4 * MiB), true).ok());
  REQUIRE(w.ctl.PathAdd("a", "/mnt/a", {}).ok());
  REQUIRE(w.ctl.VolumeDelete("a").code() == Code::device_in_use);
  REQUIRE(w.ctl.PathRemove("a", "/mnt/a").ok());
  w.p.held.insert("a");
  REQUIRE(w.ctl.VolumeDelete("a").code() == Code::device_in_use);
  w.p.held.clear();
  w.p.fail_persist = true;
  REQUIRE_FALSE(w.ctl.VolumeDelete("a").ok());
  REQUIRE(w.p.devices.count("a"));  // a failed delete serves again, as before the call
  REQUIRE(w.c.volume("a") != nullptr);
  w.p.fail_persist = false;
  const int before = w.p.persists;
  int persists_at_stop = -1;
  w.p.on_stop = [&](const std::string&) { persists_at_stop = w.p.persists; };
  REQUIRE(w.ctl.VolumeDelete("a").ok());
  REQUIRE(persists_at_stop == before);  // the device stopped before the volume was forgotten
  REQUIRE(w.p.persists == before + 1);
  REQUIRE(w.c.volume("a") == nullptr);
  REQUIRE(w.p.devices.count("a") == 0);
  REQUIRE(w.ctl.VolumeDelete("a").code() == Code::not_found);
}

TEST_CASE("restore starts every device with its old id and records new ids") {
  Empty w;
  w.DiskOn(16 * MiB);
  Volume a = w.Vol("a", 4 * MiB);
  a.dev_id = 7;
  REQUIRE(w.c.CreateVolume(a).ok());
  Volume b = w.Vol("b", 4 * MiB);
  b.offset = 4 * MiB;
  REQUIRE(w.c.CreateVolume(b).ok());
  Volume s = w.Vol("s", 4 * MiB);
  s.offset = 8 * MiB;
  REQUIRE(w.c.CreateVolume(s).ok());
  w.p.unstartable.insert("s");
  std::vector<std::string> notes;
  w.ctl.Restore(&notes);
  REQUIRE(w.p.devices["a"] == 7);
  REQUIRE(w.c.volume("b")->dev_id == 0);
  REQUIRE(w.c.volume("s") != nullptr);  // never dropped
  REQUIRE(notes.size() == 1);
  REQUIRE(notes[0].find("volume s not started") == 0);
}

TEST_CASE("restore: recovered devices are counted, gated from the state, mounts untouched") {
  Empty w;
  w.DiskOn(16 * MiB);
  Volume on = w.Vol("on", 4 * MiB);
  on.dev_id = 3;
  on.access_paths = {{"/mnt/a", {}}};
  on.recoveries = 2;
  REQUIRE(w.c.CreateVolume(on).ok());
  Volume off = w.Vol("off", 4 * MiB);
  off.offset = 4 * MiB;
  off.dev_id = 4;
  off.offline = true;
  REQUIRE(w.c.CreateVolume(off).ok());
  Volume fresh = w.Vol("fresh", 4 * MiB);
  fresh.offset = 8 * MiB;
  fresh.dev_id = 5;
  REQUIRE(w.c.CreateVolume(fresh).ok());
  // The crashed daemon's devices of "on" and "off" are still there, "on" still mounted.
  w.p.recovered = {"on", "off"};
  w.p.mounts["on"] = {"/mnt/a"};
  std::vector<std::string> notes;
  w.ctl.Restore(&notes);
  REQUIRE(notes.empty());
  REQUIRE(w.c.volume("on")->recoveries == 3);
  REQUIRE(w.c.volume("off")->recoveries == 1);
  REQUIRE(w.c.volume("fresh")->recoveries == 0);
  REQUIRE(w.p.persists > 0);
  // The gate word came from the state with the device, before anything else touched it.
  REQUIRE((w.p.words["off"] & gate::kOffline) != 0);
  REQUIRE(w.p.words["on"] == 0);
  REQUIRE(w.p.claimed.count("off") == 1);
  // Already mounted where it belongs: not mounted again.
  REQUIRE(w.p.mounts["on"] == std::vector<std::string>{"/mnt/a"});
  for (const std::string& e : w.p.log) REQUIRE(e.rfind("mount ", 0) != 0);
  nlohmann::json v = VolumeView(w.ctl, *w.c.volume("on"));
  REQUIRE(v["recovery"] == "hold-reissue");
  REQUIRE(v["recoveries"] == 3);
  // A second restore (the next start) counts again only what it recovers.
  w.p.recovered.clear();
  w.ctl.Restore(&notes);
  REQUIRE(w.c.volume("on")->recoveries == 3);
}

TEST_CASE("a clean stop unmounts what it can; a volume in use keeps its device") {
  Empty w;
  w.DiskOn(16 * MiB);
  for (const char* n : {"idle", "busy", "bare"}) {
    Volume v = w.Vol(n, 4 * MiB);
    REQUIRE(w.ctl.VolumeCreate(v, true).ok());
  }
  w.p.mounts["idle"] = {"/mnt/a", "/mnt/b"};
  w.p.mounts["busy"] = {"/mnt/c"};
  w.p.busy.insert("/mnt/c");
  const Catalog before = w.c;
  std::vector<std::string> in_use, notes;
  w.ctl.DismountForStop(&in_use, &notes);
  REQUIRE(in_use == std::vector<std::string>{"busy"});
  REQUIRE(notes.size() == 1);
  REQUIRE(notes[0].find("volume 'busy' stays mounted") == 0);
  REQUIRE(notes[0].find("kept for the next daemon") != std::string::npos);
  REQUIRE(w.p.mounts["idle"].empty());
  REQUIRE(w.p.mounts["busy"] == std::vector<std::string>{"/mnt/c"});
  REQUIRE(w.c == before);  // the next start mounts the access paths again
}

TEST_CASE("shutdown asks the platform to stop the daemon, keeping devices or not") {
  Empty w;
  REQUIRE(w.ctl.Shutdown(true).ok());
  REQUIRE(w.ctl.Shutdown(false).ok());
  REQUIRE(w.p.shutdowns == std::vector<bool>{true, false});
}

TEST_CASE("views: drive, disk, running and stopped volumes") {
  Empty w;
  w.DiskOn(16 * MiB);
  REQUIRE(w.ctl.VolumeCreate(w.Vol("a", 4 * MiB), true).ok());
  const nlohmann::json d = DriveView(w.ctl, *w.c.drive("d"));
  REQUIRE(d["status"] == "online");
  REQUIRE(d["state"] == "online");
  REQUIRE(d["cache"] == "ok");
  REQUIRE(d["disk"] == "k");
  const nlohmann::json k = DiskView(w.ctl, *w.c.disk("k"));
  REQUIRE(k["size"] == 16 * MiB);
  REQUIRE(k["volumes"] == nlohmann::json{"a"});
  nlohmann::json v = VolumeView(w.ctl, *w.c.volume("a"));
  REQUIRE(v["device"] == "/dev/ublkb0");
  REQUIRE(v["state"] == "online");
  REQUIRE(v["offline_by"].is_null());
  REQUIRE(v["stats"]["writes"] == 2);
  REQUIRE_FALSE(v.contains("error"));
  // What holds it offline: only its drive (not claimed), its disk, itself.
  REQUIRE(w.ctl.DriveSetStatus("d", "offline").ok());
  v = VolumeView(w.ctl, *w.c.volume("a"));
  REQUIRE((v["state"] == "offline" && v["offline_by"] == "drive"));
  REQUIRE(w.p.claimed.count("a") == 0);
  REQUIRE(w.ctl.DriveSetStatus("d", "online").ok());
  REQUIRE(w.ctl.DiskOffline("k", false).ok());
  REQUIRE(VolumeView(w.ctl, *w.c.volume("a"))["offline_by"] == "disk");
  REQUIRE(w.p.claimed.count("a") == 1);
  REQUIRE(w.ctl.VolumeOffline("a", false).ok());
  REQUIRE(VolumeView(w.ctl, *w.c.volume("a"))["offline_by"] == "volume");
  REQUIRE(w.ctl.DiskOnline("k").ok());
  REQUIRE(VolumeView(w.ctl, *w.c.volume("a"))["offline_by"] == "volume");
  REQUIRE(w.ctl.VolumeOnline("a").ok());
  REQUIRE(VolumeView(w.ctl, *w.c.volume("a"))["offline_by"].is_null());
  w.p.devices.clear();
  v = VolumeView(w.ctl, *w.c.volume("a"));
  REQUIRE(v["state"] == "stopped");
  REQUIRE(v["device"].is_null());
  REQUIRE(v["dev_id"] == -1);
  REQUIRE(v["recovery"].is_null());
  REQUIRE(v["recoveries"] == 0);
  REQUIRE(VolumesView(w.ctl)["volumes"].size() == 1);
}

TEST_CASE("an ok call that did not do everything leaves a note") {
  Empty w;
  w.DiskOn(16 * MiB);
  REQUIRE(w.ctl.VolumeCreate(w.Vol("a", 4 * MiB), true).ok());
  REQUIRE(w.ctl.PathAdd("a", "/mnt/a", {}).ok());
  REQUIRE(w.ctl.VolumeOffline("a", false).ok());
  w.p.unmountable.insert("/mnt/a");
  REQUIRE(w.ctl.VolumeOnline("a").ok());
  const std::vector<std::string> notes = w.ctl.TakeNotes();
  REQUIRE(notes.size() == 1);
  REQUIRE(notes[0].find("not mounted at its access paths") != std::string::npos);
  REQUIRE(w.ctl.TakeNotes().empty());
}

TEST_CASE("restore: a drive whose store changed is cache-corrupt, its volumes stay stopped") {
  Empty w;
  w.DiskOn(16 * MiB);  // drive d on /d.img, disk k
  REQUIRE(w.ctl.DriveAdd("e", "/e.img", 16 * MiB).ok());
  REQUIRE(w.ctl.DiskCreate("k2", {"e"}).ok());
  Volume a = w.Vol("a", 4 * MiB);
  a.access_paths = {{"/mnt/a", {}}};
  REQUIRE(w.c.CreateVolume(a).ok());
  Volume off = w.Vol("off", 4 * MiB);
  off.offset = 4 * MiB;
  off.offline = true;
  REQUIRE(w.c.CreateVolume(off).ok());
  Volume o = w.Vol("o", 4 * MiB);
  o.disk = "k2";
  REQUIRE(w.c.CreateVolume(o).ok());

  Code refresh_first = Code::ok;  // what refresh says before the store is put right
  SECTION("replaced (another inode) while the daemon was down") {
    w.p.files["/d.img"].first.ino = 999;
  }
  SECTION("shrunk") {
    w.p.files["/d.img"].second = 8 * MiB;
    refresh_first = Code::invalid_state;
  }
  SECTION("missing") {
    w.p.files.erase("/d.img");
    refresh_first = Code::not_found;
  }
  std::vector<std::string> notes;
  w.ctl.Restore(&notes);
  // Nothing is served from d: its volumes are not started (so not mounted, not claimed).
  REQUIRE_FALSE(w.p.devices.count("a"));
  REQUIRE_FALSE(w.p.devices.count("off"));
  REQUIRE(w.p.mounts["a"].empty());
  REQUIRE(w.p.devices.count("o"));  // another drive's volume is served
  REQUIRE(w.ctl.IsCorrupt("d"));
  REQUIRE_FALSE(w.ctl.IsCorrupt("e"));
  REQUIRE(notes.size() == 3);  // the drive, then each held volume
  REQUIRE(notes[0].find("cache-corrupt: drive 'd' (/d.img): ") == 0);
  REQUIRE(DriveView(w.ctl, *w.c.drive("d"))["cache"] == "corrupt");
  nlohmann::json v = VolumeView(w.ctl, *w.c.volume("a"));
  REQUIRE(v["state"] == "stopped");
  REQUIRE(v["error"].get<std::string>().find("not started: cache-corrupt: drive 'd'") == 0);
  // The drive answers cache-corrupt; no new volume is served from it.
  REQUIRE(w.ctl.DriveSetStatus("d", "offline").code() == Code::cache_corrupt);
  Volume b = w.Vol("b", 4 * MiB);
  REQUIRE(w.ctl.VolumeCreate(b, true).code() == Code::cache_corrupt);
  REQUIRE_FALSE(w.p.devices.count("b"));

  if (refresh_first != Code::ok) {
    // Refresh cannot take a store that is missing or too small: everything stays as it was,
    // until a good store is put there.
    std::vector<std::string> changed;
    REQUIRE(w.ctl.Refresh(&changed).code() == refresh_first);
    REQUIRE(w.ctl.IsCorrupt("d"));
    REQUIRE_FALSE(w.p.devices.count("a"));
    w.p.files["/d.img"] = {DriveIdentity{1, 555, false}, 16 * MiB};
  }
  // Refresh records the store as it is now and starts the held volumes as the restore would
  // have: mounted at their access paths, an offline one claimed.
  std::vector<std::string> changed;
  REQUIRE(w.ctl.Refresh(&changed).ok());
  REQUIRE(changed == std::vector<std::string>{"d"});
  REQUIRE_FALSE(w.ctl.IsCorrupt("d"));
  REQUIRE(w.p.devices.count("a"));
  REQUIRE(w.p.mounts["a"] == std::vector<std::string>{"/mnt/a"});
  REQUIRE(w.p.devices.count("off"));
  REQUIRE(w.p.claimed.count("off"));
  v = VolumeView(w.ctl, *w.c.volume("a"));
  REQUIRE(v["state"] == "online");
  REQUIRE_FALSE(v.contains("error"));
  REQUIRE(w.ctl.TakeNotes().empty());
  // The next start finds the store it recorded.
  notes.clear();
  w.p.devices.clear();
  w.ctl.Restore(&notes);
  REQUIRE(notes.empty());
  REQUIRE(w.p.devices.count("a"));
}

TEST_CASE("restore: a drive that grew under its disk is not a change") {
  Empty w;
  w.DiskOn(16 * MiB);
  REQUIRE(w.c.CreateVolume(w.Vol("a", 4 * MiB)).ok());
  w.p.files["/d.img"].second = 32 * MiB;
  std::vector<std::string> notes;
  w.ctl.Restore(&notes);
  REQUIRE(notes.empty());
  REQUIRE(w.p.devices.count("a"));
  REQUIRE_FALSE(w.ctl.IsCorrupt("d"));
}

TEST_CASE("refresh: a held volume that still cannot start stays stopped, with a note") {
  Empty w;
  w.DiskOn(16 * MiB);
  REQUIRE(w.c.CreateVolume(w.Vol("a", 4 * MiB)).ok());
  w.p.files["/d.img"].first.ino = 999;
  std::vector<std::string> notes;
  w.ctl.Restore(&notes);
  w.p.unstartable.insert("a");
  std::vector<std::string> changed;
  REQUIRE(w.ctl.Refresh(&changed).ok());
  const std::vector<std::string> left = w.ctl.TakeNotes();
  REQUIRE(left.size() == 1);
  REQUIRE(left[0].find("volume a not started: io-error") == 0);
  REQUIRE(VolumeView(w.ctl, *w.c.volume("a"))["state"] == "stopped");
}
