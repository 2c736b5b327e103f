// Access paths (issue 9): mount options from the edge to the platform and the state, symbolic
// links refused at every mount (path add, volume mount, online, restore) through the fake
// platform, paths found by their normalised spelling, and the real OpenAccessPath /
// UnmountAccessPath on a scratch directory (no root needed: nothing is mounted).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>

#include "access_path.h"
#include "blkgate/controller.h"
#include "blkgate/ops.h"
#include "blkgate/views.h"
#include "fake_platform.h"

using namespace blkgate;
using blkgate::testing::FakePlatform;
using nlohmann::json;

namespace {

constexpr std::uint64_t MiB = 1ull << 20;

// A call as a client makes it: the registry validates (and normalises) the arguments, then
// the op's handler runs on the Controller. `notes` are the call's notes, `data` its reply data.
struct Reply {
  Result result;
  json data;
  std::vector<std::string> notes;
};

// One volume v (4 MiB) on disk k on drive a, in the fake world.
struct Gate {
  FakePlatform p;
  Catalog c;
  Controller ctl{&p, &c};
  Gate() {
    p.files["/a.img"] = {DriveIdentity{1, 10, false}, 16 * MiB};
    REQUIRE(c.AddDrive({"a", "/a.img", 16 * MiB, DriveStatus::online, {1, 10, false}}).ok());
    REQUIRE(c.CreateDisk("k", {"a"}).ok());
    Volume v;
    v.name = "v";
    v.disk = "k";
    v.size = 4 * MiB;
    REQUIRE(ctl.VolumeCreate(v, false).ok());
  }
  Reply Call(const std::string& op, const json& args) {
    const ops::OpSpec* spec = ops::Find(op);
    REQUIRE(spec != nullptr);
    ops::Args valid;
    Reply r{ops::Validate(*spec, args, &valid), json::object(), {}};
    if (r.result.ok()) {
      ops::Call call{valid, ctl, &r.data};
      r.result = spec->run(call);
    }
    r.notes = ctl.TakeNotes();
    return r;
  }
  const Volume& vol() { return *c.volume("v"); }
};

MountOptions RoNoexec() {
  MountOptions o;
  o.read_only = true;
  o.noexec = true;
  return o;
}

// A scratch directory, removed at the end.
struct Scratch {
  std::filesystem::path dir;
  Scratch() {
    char tmpl[] = "/tmp/blkgate-ap-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    dir = tmpl;
  }
  ~Scratch() { std::filesystem::remove_all(dir); }
  std::string operator/(const std::string& rel) const { return (dir / rel).string(); }
};

}  // namespace

TEST_CASE("path add --options: validated at the edge, mounted with them, persisted, shown") {
  Gate g;
  Reply r =
      g.Call("volume.path.add", {{"name", "v"}, {"path", "/mnt/a"}, {"options", "noexec,ro"}});
  REQUIRE(r.result.ok());
  REQUIRE(g.vol().access_paths == std::vector<AccessPath>{{"/mnt/a", RoNoexec()}});
  REQUIRE(g.p.options["/mnt/a"] == "nosuid,nodev,ro,noexec");
  REQUIRE(r.data["access_paths"] ==
          json::array({{{"path", "/mnt/a"}, {"options", "nosuid,nodev,ro,noexec"}}}));
  // Without --options: nosuid,nodev only.
  REQUIRE(g.Call("volume.path.add", {{"name", "v"}, {"path", "/mnt/b"}}).result.ok());
  REQUIRE(g.p.options["/mnt/b"] == "nosuid,nodev");
  r = g.Call("volume.path.list", {{"name", "v"}});
  REQUIRE(r.data["access_paths"][1] == json{{"path", "/mnt/b"}, {"options", "nosuid,nodev"}});

  // The state file keeps them.
  Catalog back;
  REQUIRE(back.FromJson(g.c.ToJson()).ok());
  REQUIRE(back.volume("v")->access_paths == g.vol().access_paths);

  // A bad option: invalid-argument naming it, nothing changed, nothing mounted.
  const Catalog before = g.c;
  const int persists = g.p.persists;
  for (const char* bad : {"suid", "dev", "ro,exec,bogus", "", "uid=0"}) {
    INFO(bad);
    r = g.Call("volume.path.add", {{"name", "v"}, {"path", "/mnt/c"}, {"options", bad}});
    REQUIRE(r.result.code() == Code::invalid_argument);
  }
  REQUIRE(g.Call("volume.path.add", {{"name", "v"}, {"path", "/mnt/c"}, {"options", 7}})
              .result.code() == Code::invalid_argument);
  REQUIRE(g.c == before);
  REQUIRE(g.p.persists == persists);
  REQUIRE(g.p.mounts["v"] == std::vector<std::string>{"/mnt/a", "/mnt/b"});
}

TEST_CASE("path remove with another spelling removes and unmounts the normalised path") {
  Gate g;
  // Added as "/mnt//a/": recorded and mounted as "/mnt/a".
  REQUIRE(g.Call("volume.path.add", {{"name", "v"}, {"path", "/mnt//a/"}}).result.ok());
  REQUIRE(g.vol().access_paths == std::vector<AccessPath>{{"/mnt/a", {}}});
  REQUIRE(g.p.mounts["v"] == std::vector<std::string>{"/mnt/a"});
  // Mounts are found by the normalised path: dismount and mount again find it, no double mount.
  REQUIRE(g.Call("volume.dismount", {{"name", "v"}}).result.ok());
  REQUIRE(g.p.mounts["v"].empty());
  REQUIRE(g.Call("volume.mount", {{"name", "v"}}).result.ok());
  REQUIRE(g.Call("volume.mount", {{"name", "v"}}).result.ok());
  REQUIRE(g.p.mounts["v"] == std::vector<std::string>{"/mnt/a"});
  // Another spelling of the same path removes it and unmounts it.
  REQUIRE(g.Call("volume.path.remove", {{"name", "v"}, {"path", "/mnt/./a//"}}).result.ok());
  REQUIRE(g.vol().access_paths.empty());
  REQUIRE(g.p.mounts["v"].empty());
  REQUIRE(g.p.log.back() == "umount /mnt/a");
}

TEST_CASE("a symbolic link in an access path: refused at path add, mount, online, restore") {
  Gate g;
  g.p.dirs.insert("/x/m");
  g.p.symlinked.insert("/x/m");
  const Catalog before = g.c;
  Reply r = g.Call("volume.path.add", {{"name", "v"}, {"path", "/x/m"}});
  REQUIRE(r.result.code() == Code::permission_denied);
  REQUIRE(r.result.message().find("/x/m") != std::string::npos);
  REQUIRE(g.c == before);
  REQUIRE(g.p.mounts["v"].empty());

  // Added while safe, then a parent is swapped for a symbolic link.
  g.p.symlinked.clear();
  REQUIRE(g.Call("volume.path.add", {{"name", "v"}, {"path", "/x/m"}}).result.ok());
  REQUIRE(g.Call("volume.dismount", {{"name", "v"}}).result.ok());
  g.p.symlinked.insert("/x/m");
  r = g.Call("volume.mount", {{"name", "v"}});
  REQUIRE(r.result.code() == Code::permission_denied);
  REQUIRE(r.result.message().find("/x/m") != std::string::npos);
  REQUIRE(g.p.mounts["v"].empty());
  REQUIRE(g.vol().dismount == Dismount::temporary);  // unchanged: mount can be retried

  // Online: the volume comes online; the refused mount is a note naming the path.
  REQUIRE(g.Call("volume.offline", {{"name", "v"}}).result.ok());
  r = g.Call("volume.online", {{"name", "v"}});
  REQUIRE(r.result.ok());
  REQUIRE(r.notes.size() == 1);
  REQUIRE(r.notes[0].find("permission-denied") != std::string::npos);
  REQUIRE(r.notes[0].find("/x/m") != std::string::npos);
  REQUIRE(g.p.mounts["v"].empty());

  // Restart: the same refusal, as a note; nothing mounted.
  std::vector<std::string> notes;
  g.ctl.Restore(&notes);
  REQUIRE(notes.size() == 1);
  REQUIRE(notes[0].find("/x/m") != std::string::npos);
  REQUIRE(g.p.mounts["v"].empty());

  // Made safe again: mount works.
  g.p.symlinked.clear();
  REQUIRE(g.Call("volume.mount", {{"name", "v"}}).result.ok());
  REQUIRE(g.p.mounts["v"] == std::vector<std::string>{"/x/m"});
}

TEST_CASE("path add: a failed persist unmounts only what the call mounted") {
  Gate g;
  REQUIRE(g.Call("volume.path.add", {{"name", "v"}, {"path", "/mnt/a"}}).result.ok());
  g.p.fail_persist = true;
  const Catalog before = g.c;
  REQUIRE(g.Call("volume.path.add", {{"name", "v"}, {"path", "/mnt/b"}, {"options", "ro"}})
              .result.code() == Code::io_error);
  REQUIRE(g.c == before);
  REQUIRE(g.p.mounts["v"] == std::vector<std::string>{"/mnt/a"});  // kept
}

TEST_CASE("a failed dismount remounts access paths with their own options") {
  Gate g;
  REQUIRE(g.Call("volume.path.add", {{"name", "v"}, {"path", "/mnt/a"}, {"options", "ro,noexec"}})
              .result.ok());
  REQUIRE(g.Call("volume.path.add", {{"name", "v"}, {"path", "/mnt/b"}}).result.ok());
  g.p.fail_persist = true;
  REQUIRE(g.Call("volume.dismount", {{"name", "v"}}).result.code() == Code::io_error);
  REQUIRE(g.p.mounts["v"].size() == 2);
  REQUIRE(g.p.options["/mnt/a"] == "nosuid,nodev,ro,noexec");
  REQUIRE(g.p.options["/mnt/b"] == "nosuid,nodev");
}

TEST_CASE("OpenAccessPath: no symbolic link at any component, named; shapes checked") {
  Scratch s;
  REQUIRE(::mkdir((s / "real").c_str(), 0755) == 0);
  REQUIRE(::mkdir((s / "real/m").c_str(), 0755) == 0);
  REQUIRE(::symlink((s / "real").c_str(), (s / "link").c_str()) == 0);
  REQUIRE(::symlink((s / "real/m").c_str(), (s / "real/lm").c_str()) == 0);
  REQUIRE(::close(::open((s / "file").c_str(), O_CREAT | O_WRONLY, 0600)) == 0);
  UniqueFd fd;
  REQUIRE(OpenAccessPath(s / "real/m", O_PATH, &fd).ok());
  REQUIRE(fd.valid());

  UniqueFd none;
  Result r = OpenAccessPath(s / "link/m", O_PATH, &none);  // a parent is a link
  REQUIRE(r.code() == Code::permission_denied);
  REQUIRE(r.message().find(s / "link" + " is a symbolic link") != std::string::npos);
  REQUIRE_FALSE(none.valid());
  r = OpenAccessPath(s / "real/lm", O_PATH, &none);  // the last component is a link
  REQUIRE(r.code() == Code::permission_denied);
  REQUIRE(r.message().find(s / "real/lm" + " is a symbolic link") != std::string::npos);

  REQUIRE(OpenAccessPath(s / "nope", O_PATH, &none).code() == Code::not_found);
  REQUIRE(OpenAccessPath(s / "file", O_PATH, &none).code() == Code::invalid_argument);
  REQUIRE(OpenAccessPath("rel/m", O_PATH, &none).code() == Code::invalid_argument);
  REQUIRE(OpenAccessPath("/", O_PATH, &none).code() == Code::invalid_argument);
  REQUIRE(OpenAccessPath(s / "real/./m", O_PATH, &none).code() == Code::invalid_argument);
  REQUIRE(OpenAccessPath(s / "real/m/", O_PATH, &none).code() == Code::invalid_argument);
  REQUIRE(OpenAccessPath(s / "real/../real/m", O_PATH, &none).code() == Code::invalid_argument);
  REQUIRE_FALSE(none.valid());
}

TEST_CASE("UnmountAccessPath: only the volume's own mount, never through a link") {
  Scratch s;
  REQUIRE(::mkdir((s / "m").c_str(), 0755) == 0);
  REQUIRE(::symlink("/proc", (s / "l").c_str()) == 0);
  struct stat st;
  REQUIRE(::stat("/proc", &st) == 0);
  // A plain directory is no mount: refused, nothing unmounted.
  REQUIRE(UnmountAccessPath(s / "m", st.st_dev, 0, false).code() == Code::invalid_state);
  // A symbolic link to a real mount point (/proc) is never followed.
  REQUIRE(UnmountAccessPath(s / "l", st.st_dev, 0, false).code() == Code::permission_denied);
  REQUIRE(::stat("/proc/self", &st) == 0);  // /proc still there
}
