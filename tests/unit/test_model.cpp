#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "blkgate/model.h"

using namespace blkgate;

namespace {

constexpr std::uint64_t MiB = 1ull << 20;

Catalog two_drive_catalog() {
  Catalog c;
  REQUIRE(c.AddDrive({"a", "/data/a.img", 8 * MiB, DriveStatus::online, {}}).ok());
  REQUIRE(c.AddDrive({"b", "/data/b.img", 4 * MiB, DriveStatus::online, {}}).ok());
  REQUIRE(c.CreateDisk("d", {"a", "b"}).ok());
  return c;
}

Volume vol(std::string name, std::string disk, std::uint64_t off, std::uint64_t size) {
  Volume v;
  v.name = std::move(name);
  v.disk = std::move(disk);
  v.offset = off;
  v.size = size;
  return v;
}

}  // namespace

TEST_CASE("names are validated") {
  REQUIRE(ValidateName("volume", "v0").ok());
  REQUIRE(ValidateName("volume", "data_1.backup-2").ok());
  for (const char* bad : {"", ".hidden", "-x", "a/b", "a b", "ä",
                          "0123456789012345678901234567890123456789012345678901234567890123X"}) {
    INFO(bad);
    REQUIRE(ValidateName("volume", bad).code() == Code::invalid_argument);
  }
}

TEST_CASE("drives: add, duplicate, bad size, remove while in use") {
  Catalog c;
  REQUIRE(c.AddDrive({"a", "/x", 4096, DriveStatus::online, {}}).ok());
  REQUIRE(c.AddDrive({"a", "/y", 4096, DriveStatus::online, {}}).code() == Code::already_exists);
  REQUIRE(c.AddDrive({"b", "/x", 4096, DriveStatus::online, {}}).code() == Code::device_in_use);
  REQUIRE(c.AddDrive({"c", "/z", 0, DriveStatus::online, {}}).code() == Code::invalid_argument);
  REQUIRE(c.AddDrive({"c", "/z", 1000, DriveStatus::online, {}}).code() == Code::invalid_argument);
  REQUIRE(c.AddDrive({"c", "", 4096, DriveStatus::online, {}}).code() == Code::invalid_argument);
  REQUIRE(c.drives().size() == 1);
  REQUIRE(c.CreateDisk("d", {"a"}).ok());
  Result r = c.RemoveDrive("a");
  REQUIRE(r.code() == Code::device_in_use);
  REQUIRE(r.message().find("disk 'd'") != std::string::npos);
  REQUIRE(c.RemoveDrive("nope").code() == Code::not_found);
  REQUIRE(c.DeleteDisk("d").ok());
  REQUIRE(c.RemoveDrive("a").ok());
  REQUIRE(c.drives().empty());
}

TEST_CASE("disks: validation and failed creation changes nothing") {
  Catalog c = two_drive_catalog();
  Catalog before = c;
  REQUIRE(c.CreateDisk("d", {"a"}).code() == Code::already_exists);
  REQUIRE(c.CreateDisk("e", {}).code() == Code::invalid_argument);
  REQUIRE(c.CreateDisk("e", {"zz"}).code() == Code::not_found);
  REQUIRE(c.CreateDisk("e", {"a"}).code() == Code::device_in_use);
  REQUIRE(c == before);
  REQUIRE(c.AddDrive({"x", "/x", 4096, DriveStatus::online, {}}).ok());
  REQUIRE(c.CreateDisk("e", {"x", "x"}).code() == Code::invalid_argument);
  REQUIRE(c.DiskSize("d") == 12 * MiB);
  REQUIRE(c.DiskSize("nope") == 0);
  REQUIRE(c.DiskOfDrive("a")->name == "d");
  REQUIRE(c.DiskOfDrive("x") == nullptr);
}

TEST_CASE("volumes: extents are checked against the disk and each other") {
  Catalog c = two_drive_catalog();
  REQUIRE(c.CreateVolume(vol("v0", "d", 0, 4 * MiB)).ok());
  Catalog before = c;
  REQUIRE(c.CreateVolume(vol("v0", "d", 4 * MiB, MiB)).code() == Code::already_exists);
  REQUIRE(c.CreateVolume(vol("v1", "nope", 0, MiB)).code() == Code::not_found);
  REQUIRE(c.CreateVolume(vol("v1", "d", 0, 0)).code() == Code::invalid_argument);
  REQUIRE(c.CreateVolume(vol("v1", "d", 100, MiB)).code() == Code::invalid_argument);
  REQUIRE(c.CreateVolume(vol("v1", "d", 4 * MiB, 1000)).code() == Code::invalid_argument);
  Result past = c.CreateVolume(vol("v1", "d", 8 * MiB, 5 * MiB));
  REQUIRE(past.code() == Code::invalid_argument);
  REQUIRE(past.message().find("past the end") != std::string::npos);
  REQUIRE(c.CreateVolume(vol("v1", "d", 12 * MiB, 512)).code() == Code::invalid_argument);
  Result ov = c.CreateVolume(vol("v1", "d", 2 * MiB, 4 * MiB));
  REQUIRE(ov.code() == Code::invalid_argument);
  REQUIRE(ov.message().find("overlaps volume 'v0'") != std::string::npos);
  Volume q = vol("v1", "d", 4 * MiB, MiB);
  q.depth = 100;
  REQUIRE(c.CreateVolume(q).code() == Code::invalid_argument);
  q.depth = 128;
  q.queues = kMaxQueues + 1;
  REQUIRE(c.CreateVolume(q).code() == Code::invalid_argument);
  REQUIRE(c == before);
  REQUIRE(c.CreateVolume(vol("v1", "d", 4 * MiB, 8 * MiB)).ok());  // exactly to the end
  REQUIRE(c.DeleteDisk("d").code() == Code::device_in_use);
  REQUIRE(c.DeleteVolume("v9").code() == Code::not_found);
  REQUIRE(c.DeleteVolume("v0").ok());
  REQUIRE(c.volumes().size() == 1);
}

TEST_CASE("segments map a volume across concatenated drives") {
  Catalog c = two_drive_catalog();  // a: [0, 8M), b: [8M, 12M)
  REQUIRE(c.CreateVolume(vol("v", "d", 6 * MiB, 4 * MiB)).ok());
  auto segs = c.Segments(*c.volume("v"));
  REQUIRE(segs.size() == 2);
  REQUIRE(segs[0].drive == "a");
  REQUIRE(segs[0].index == 0);
  REQUIRE(segs[0].volume_offset == 0);
  REQUIRE(segs[0].drive_offset == 6 * MiB);
  REQUIRE(segs[0].length == 2 * MiB);
  REQUIRE(segs[1].drive == "b");
  REQUIRE(segs[1].index == 1);
  REQUIRE(segs[1].volume_offset == 2 * MiB);
  REQUIRE(segs[1].drive_offset == 0);
  REQUIRE(segs[1].length == 2 * MiB);

  REQUIRE(c.CreateVolume(vol("w", "d", 10 * MiB, MiB)).ok());  // only on b
  auto w = c.Segments(*c.volume("w"));
  REQUIRE(w.size() == 1);
  REQUIRE(w[0].drive == "b");
  REQUIRE(w[0].index == 1);
  REQUIRE(w[0].drive_offset == 2 * MiB);
}

TEST_CASE("catalog JSON round trip and rejection of bad documents") {
  Catalog c = two_drive_catalog();
  Volume v = vol("v", "d", MiB, 2 * MiB);
  v.queues = 2;
  v.depth = 64;
  v.backend = BackendKind::mem;
  v.offline = true;
  v.dismount = Dismount::permanent;
  MountOptions ro;
  ro.read_only = true;
  v.access_paths = {{"/mnt/a", {}}, {"/mnt/b", ro}};
  REQUIRE(c.CreateVolume(v).ok());
  c.drive("b")->status = DriveStatus::not_ready;
  c.drive("a")->identity = {12, 34, false};
  c.disk("d")->read_only = true;

  Catalog back;
  REQUIRE(back.FromJson(c.ToJson()).ok());
  REQUIRE(back == c);
  REQUIRE(back.volume("v")->access_paths == v.access_paths);
  REQUIRE(back.volume("v")->dismount == Dismount::permanent);
  REQUIRE(back.drive("b")->status == DriveStatus::not_ready);
  REQUIRE(back.drive("a")->identity.ino == 34);

  Catalog untouched = back;
  REQUIRE(back.FromJson("{not json").code() == Code::invalid_argument);
  REQUIRE(back.FromJson("[]").code() == Code::invalid_argument);
  REQUIRE(back.FromJson(R"({"format":"blkgate-state","version":2})").code() ==
          Code::invalid_argument);
  REQUIRE(back.FromJson(R"({"format":"blkgate-state","version":1,"drives":[]})").code() ==
          Code::invalid_argument);
  // A volume referring to a missing disk is rejected as a whole.
  std::string text = c.ToJson();
  auto pos = text.find("\"disk\": \"d\"");
  REQUIRE(pos != std::string::npos);
  text.replace(pos, 11, "\"disk\": \"q\"");
  REQUIRE(back.FromJson(text).code() == Code::not_found);
  REQUIRE(back == untouched);
}

TEST_CASE("catalog JSON: every member must be present and of its type, never a default") {
  using nlohmann::json;
  Catalog c = two_drive_catalog();
  Volume v = vol("v", "d", 0, MiB);
  v.access_paths = {{"/mnt/a", {}}};
  REQUIRE(c.CreateVolume(v).ok());
  const json good = json::parse(c.ToJson());
  struct Case {
    const char* pointer;
    json value;
    const char* named;  // in the message
  };
  const std::vector<Case> cases = {
      {"/drives", nullptr, "state.drives must be a list"},
      {"/disks", json::object(), "state.disks must be a list"},
      {"/volumes", "x", "state.volumes must be a list"},
      {"/drives/0", nullptr, "drives[0] must be an object"},
      {"/drives/0/name", nullptr, "drives[0].name must be a string"},
      {"/drives/0/path", "relative.img", "drives[0]: drive path must be absolute"},
      {"/drives/0/path", std::string("/a.img\0/etc", 11), "drives[0]: drive path must not"},
      {"/drives/0/path", "/x/../etc/passwd", "drives[0]: drive path must not contain '..'"},
      {"/drives/0/size", -1, "drives[0].size must be an integer from 0"},
      {"/drives/0/size", 1048576.0, "drives[0].size must be an integer"},
      {"/drives/0/size", "1M", "drives[0].size must be an integer"},
      {"/drives/0/status", 1, "drives[0].status must be a string"},
      {"/drives/0/status", "broken", "drives[0]: bad drive status 'broken'"},
      {"/drives/0/identity", json::array(), "drives[0].identity must be an object"},
      {"/drives/0/identity/block_device", 0, "drives[0].identity.block_device must be true"},
      {"/drives/0/identity/ino", nullptr, "drives[0].identity.ino must be an integer"},
      {"/disks/0/drives", "a", "disks[0].drives must be a list of strings"},
      {"/disks/0/drives", json::array({1}), "disks[0].drives must be a list of strings"},
      {"/disks/0/offline", "false", "disks[0].offline must be true or false"},
      {"/disks/0/read_only", nullptr, "disks[0].read_only must be true or false"},
      {"/volumes/0/queues", 65537, "volumes[0].queues must be an integer from 0 to 65535"},
      {"/volumes/0/depth", -128, "volumes[0].depth must be an integer from 0 to 65535"},
      {"/volumes/0/offset", 1.5, "volumes[0].offset must be an integer"},
      {"/volumes/0/dev_id", 4294967296, "volumes[0].dev_id must be an integer"},
      {"/volumes/0/dev_id", -2, "volumes[0]: dev_id must be -1 or more"},
      {"/volumes/0/dev_id", nullptr, "volumes[0].dev_id must be an integer"},
      {"/volumes/0/access_paths", nullptr, "volumes[0].access_paths must be a list"},
      {"/volumes/0/access_paths/0", "mnt", "volumes[0]: access path must be absolute"},
      {"/volumes/0/access_paths/0", 1, "access_paths[0] must be a path or an object"},
      {"/volumes/0/access_paths/0/path", "mnt", "volumes[0]: access path must be absolute"},
      {"/volumes/0/access_paths/0/options", "suid", "access_paths[0]: "},
      {"/volumes/0/access_paths/0/options", nullptr, "access_paths[0].options must be a string"},
      {"/volumes/0/recoveries", -1, "volumes[0].recoveries must be an integer from 0"},
      {"/volumes/0/dismount", "maybe", "volumes[0]: bad dismount state 'maybe'"},
      {"/version", 1.0, "unsupported state version 1.0"},
      {"/version", 4294967297, "unsupported state version 4294967297"},
      {"/format", nullptr, "not a blkgate state file"},
  };
  for (const Case& k : cases) {
    json bad = good;
    bad[json::json_pointer(k.pointer)] = k.value;
    INFO(k.pointer << " = " << k.value.dump());
    Catalog back = c;
    Result r = back.FromJson(bad.dump());
    REQUIRE(!r.ok());
    INFO(r.message());
    REQUIRE(r.message().find(k.named) != std::string::npos);
    REQUIRE(back == c);
  }
  for (const char* member : {"name", "size", "identity"}) {
    json bad = good;
    bad["drives"][0].erase(member);
    Catalog back;
    REQUIRE(back.FromJson(bad.dump()).message() ==
            "drives[0]: missing \"" + std::string(member) + "\"");
  }
  // dev_id and recoveries are optional (early state files), an access path may be a plain
  // string (before mount options); paths are normalised on the way in.
  json old = good;
  old["volumes"][0].erase("dev_id");
  old["volumes"][0].erase("recoveries");
  old["volumes"][0]["access_paths"][0] = "/mnt//a/./";
  old["drives"][0]["path"] = "//a.img";
  Catalog back;
  REQUIRE(back.FromJson(old.dump()).ok());
  REQUIRE(back.volume("v")->dev_id == -1);
  REQUIRE(back.volume("v")->access_paths == std::vector<AccessPath>{{"/mnt/a", {}}});
  REQUIRE(back.drive("a")->path == "/a.img");
}

TEST_CASE("catalog JSON: nesting and size are limited while parsing") {
  Catalog back;
  const std::string deep = R"({"format":"blkgate-state","version":1,"drives":)" +
                           std::string(300'000, '[') + std::string(300'000, ']') + "}";
  REQUIRE(back.FromJson(deep).message() == "the file is nested deeper than 32 levels");
  REQUIRE(back.FromJson(std::string(kMaxStateBytes + 1, ' ')).message() ==
          "the file is larger than 67108864 bytes");
}

TEST_CASE("status and backend parsing") {
  DriveStatus s = DriveStatus::online;
  REQUIRE(ParseDriveStatus("not-ready", &s).ok());
  REQUIRE(s == DriveStatus::not_ready);
  REQUIRE(ParseDriveStatus("unknown", &s).code() == Code::invalid_argument);
  REQUIRE(ParseDriveStatus("ONLINE", &s).code() == Code::invalid_argument);
  REQUIRE(s == DriveStatus::not_ready);
  BackendKind b = BackendKind::file;
  REQUIRE(ParseBackend("mem", &b).ok());
  REQUIRE(b == BackendKind::mem);
  REQUIRE(ParseBackend("nbd", &b).code() == Code::invalid_argument);
}

#include "blkgate/gate.h"

TEST_CASE("the effective gate word follows volume, disk and drive states") {
  Catalog c = two_drive_catalog();
  REQUIRE(c.CreateVolume(vol("v", "d", 6 * MiB, 4 * MiB)).ok());   // on a and b
  REQUIRE(c.CreateVolume(vol("w", "d", 10 * MiB, 1 * MiB)).ok());  // on b only: slot 1
  const Volume& v = *c.volume("v");
  const Volume& w = *c.volume("w");
  REQUIRE(EffectiveGateWord(c, v) == 0);
  c.volume("v")->offline = true;
  REQUIRE(EffectiveGateWord(c, v) == gate::kOffline);
  REQUIRE(EffectiveGateWord(c, w) == 0);
  c.volume("v")->offline = false;
  c.disk("d")->read_only = true;
  REQUIRE(EffectiveGateWord(c, w) == gate::kReadOnly);
  c.disk("d")->read_only = false;
  c.disk("d")->offline = true;
  REQUIRE(EffectiveGateWord(c, v) == gate::kOffline);
  REQUIRE(EffectiveGateWord(c, w) == gate::kOffline);
  c.disk("d")->offline = false;
  c.drive("a")->status = DriveStatus::failed;
  REQUIRE(EffectiveGateWord(c, v) == gate::segment_bits(0, gate::DriveBits::failed));
  REQUIRE(EffectiveGateWord(c, w) == 0);  // w does not touch drive a
  c.drive("b")->status = DriveStatus::not_ready;
  // Slots are drive positions in the disk, as the data path passes them (Segment::index).
  REQUIRE(c.Segments(w)[0].index == 1);
  REQUIRE(EffectiveGateWord(c, w) == gate::segment_bits(1, gate::DriveBits::not_ready));
  REQUIRE(gate::decide(EffectiveGateWord(c, w), gate::OpClass::read, 1, 1) == gate::kPark);
}

TEST_CASE("find_free_extent picks the lowest aligned gap") {
  Catalog c = two_drive_catalog();  // 12 MiB
  std::uint64_t off = 99;
  REQUIRE(c.FindFreeExtent("d", 4 * MiB, MiB, &off).ok());
  REQUIRE(off == 0);
  REQUIRE(c.CreateVolume(vol("a1", "d", 0, 3 * MiB + 512)).ok());
  REQUIRE(c.CreateVolume(vol("a2", "d", 8 * MiB, 2 * MiB)).ok());
  REQUIRE(c.FindFreeExtent("d", 4 * MiB, MiB, &off).ok());
  REQUIRE(off == 4 * MiB);  // after a1, rounded up to 1 MiB
  REQUIRE(c.FindFreeExtent("d", 2 * MiB, MiB, &off).ok());
  REQUIRE(off == 4 * MiB);
  REQUIRE(c.FindFreeExtent("d", 2 * MiB, 512, &off).ok());
  REQUIRE(off == 3 * MiB + 512);
  REQUIRE(c.FindFreeExtent("d", 2 * MiB + 1024, MiB, &off).ok());
  REQUIRE(off == 4 * MiB);  // fits between a1 and a2
  off = 7;
  REQUIRE(c.FindFreeExtent("d", 5 * MiB, MiB, &off).code() == Code::invalid_argument);
  REQUIRE(off == 7);
  REQUIRE(c.FindFreeExtent("d", 2 * MiB, MiB, &off).ok());
  REQUIRE(c.CreateVolume(vol("a3", "d", off, 2 * MiB)).ok());
  REQUIRE(c.FindFreeExtent("d", 2 * MiB, MiB, &off).ok());
  REQUIRE(off == 6 * MiB);  // between a3 [4M, 6M) and a2 [8M, 10M)
  REQUIRE(c.CreateVolume(vol("a4", "d", off, 2 * MiB)).ok());
  REQUIRE(c.FindFreeExtent("d", 2 * MiB, MiB, &off).ok());
  REQUIRE(off == 10 * MiB);  // the tail after a2
  REQUIRE(c.FindFreeExtent("d", 2 * MiB + 512, MiB, &off).code() == Code::invalid_argument);
  REQUIRE(c.FindFreeExtent("nope", MiB, MiB, &off).code() == Code::not_found);
}

TEST_CASE("the device id and the recovery count survive the state file; old files load") {
  Catalog c = two_drive_catalog();
  Volume v = vol("v", "d", 0, MiB);
  v.dev_id = 7;
  v.recoveries = 3;
  REQUIRE(c.CreateVolume(v).ok());
  Catalog back;
  REQUIRE(back.FromJson(c.ToJson()).ok());
  REQUIRE(back.volume("v")->dev_id == 7);
  REQUIRE(back.volume("v")->recoveries == 3);
  // Files written before either member existed.
  std::string text = c.ToJson();
  for (const std::string member : {",\n      \"dev_id\": 7", ",\n      \"recoveries\": 3"}) {
    auto pos = text.find(member);
    REQUIRE(pos != std::string::npos);
    text.erase(pos, member.size());
  }
  REQUIRE(back.FromJson(text).ok());
  REQUIRE(back.volume("v")->dev_id == -1);
  REQUIRE(back.volume("v")->recoveries == 0);
}

TEST_CASE("Replace keeps the address of every object that survives") {
  Catalog c;
  REQUIRE(c.AddDrive({"a", "/a.img", 1 << 20, DriveStatus::online, {}}).ok());
  REQUIRE(c.AddDrive({"b", "/b.img", 1 << 20, DriveStatus::online, {}}).ok());
  Drive* a = c.drive("a");
  Catalog next = c;
  next.drive("a")->status = DriveStatus::offline;
  REQUIRE(next.RemoveDrive("b").ok());
  REQUIRE(next.AddDrive({"c", "/c.img", 1 << 20, DriveStatus::online, {}}).ok());
  c.Replace(next);
  REQUIRE(c == next);
  REQUIRE(c.drive("a") == a);  // the same object, updated in place
  REQUIRE(a->status == DriveStatus::offline);
  REQUIRE(c.drive("b") == nullptr);
  REQUIRE(c.drive("c") != nullptr);
}

TEST_CASE("mount options: a whitelist, nosuid,nodev always, suid and dev never") {
  MountOptions o;
  REQUIRE(ParseMountOptions("ro,noexec", &o).ok());
  REQUIRE(o.read_only);
  REQUIRE(o.noexec);
  REQUIRE(ToString(o) == "nosuid,nodev,ro,noexec");
  REQUIRE(ToString(MountOptions{}) == "nosuid,nodev");
  REQUIRE(ParseMountOptions("noatime,nodiratime,rw,exec,nosuid,nodev", &o).ok());
  REQUIRE(ToString(o) == "nosuid,nodev,noatime,nodiratime");
  REQUIRE(ParseMountOptions("ro,rw,strictatime", &o).ok());  // later wins, as with mount -o
  REQUIRE(ToString(o) == "nosuid,nodev,strictatime");
  // Every canonical form parses back to itself.
  MountOptions back;
  REQUIRE(ParseMountOptions(ToString(o), &back).ok());
  REQUIRE(back == o);

  const MountOptions before = o;
  for (const char* bad :
       {"suid", "ro,dev", "", "ro,,noexec", "ro,", "bogus", "uid=0", "errors=continue", "RO"}) {
    INFO(bad);
    REQUIRE(ParseMountOptions(bad, &o).code() == Code::invalid_argument);
    REQUIRE(o == before);  // untouched
  }
  REQUIRE(ParseMountOptions("suid", &o).message().find("never allowed") != std::string::npos);
  REQUIRE(ParseMountOptions("ro,bogus", &o).message().find("'bogus'") != std::string::npos);
}

TEST_CASE("access paths: options survive the state file; old files (plain paths) load") {
  Catalog c = two_drive_catalog();
  Volume v = vol("v", "d", 0, MiB);
  MountOptions o;
  o.noexec = true;
  v.access_paths = {{"/mnt/x", o}};
  REQUIRE(c.CreateVolume(v).ok());
  const std::string text = c.ToJson();
  REQUIRE(text.find("\"options\": \"nosuid,nodev,noexec\"") != std::string::npos);
  Catalog back;
  REQUIRE(back.FromJson(text).ok());
  REQUIRE(back.volume("v")->access_paths == v.access_paths);

  // A state file written before access paths had options: a list of strings.
  std::string old = text;
  const std::string entry = R"({
          "options": "nosuid,nodev,noexec",
          "path": "/mnt/x"
        })";
  const auto pos = old.find(entry);
  REQUIRE(pos != std::string::npos);
  old.replace(pos, entry.size(), "\"/mnt/old\"");
  REQUIRE(back.FromJson(old).ok());
  REQUIRE(back.volume("v")->access_paths == std::vector<AccessPath>{{"/mnt/old", {}}});

  // Bad options or paths in the file are refused, naming them; nothing changes.
  Catalog untouched = back;
  std::string bad = text;
  bad.replace(bad.find("nosuid,nodev,noexec"), 19, "nosuid,suid");
  REQUIRE(back.FromJson(bad).code() == Code::invalid_argument);
  REQUIRE(back.FromJson(bad).message().find("/mnt/x") != std::string::npos);
  bad = text;
  bad.replace(bad.find("\"/mnt/x\""), 8, "\"mnt/x\"");
  REQUIRE(back.FromJson(bad).code() == Code::invalid_argument);
  REQUIRE(back == untouched);
}
