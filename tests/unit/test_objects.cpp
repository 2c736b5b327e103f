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
  w.p.fail_persist = true;
  REQUIRE_FALSE(w.ctl.VolumeCreate(w.Vol("b", 4 * MiB), true).ok());
  REQUIRE(w.c.volume("b") == nullptr);
  REQUIRE(w.p.devices.empty());
  REQUIRE(w.p.log.back() == "stop b");
}

TEST_CASE("volume delete: refused while mounted or held; otherwise forgotten, then stopped") {
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
  REQUIRE(w.p.devices.count("a"));  // a failed delete keeps the device serving
  w.p.fail_persist = false;
  REQUIRE(w.ctl.VolumeDelete("a").ok());
  REQUIRE(w.c.volume("a") == nullptr);
  REQUIRE(w.p.log.back() == "stop a");
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
  REQUIRE(v["stats"]["writes"] == 2);
  REQUIRE_FALSE(v.contains("error"));
  w.p.devices.clear();
  v = VolumeView(w.ctl, *w.c.volume("a"));
  REQUIRE(v["state"] == "stopped");
  REQUIRE(v["device"].is_null());
  REQUIRE(v["dev_id"] == -1);
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
