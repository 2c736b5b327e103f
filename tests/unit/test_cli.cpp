// Tests of blkgatectl's parsing (argv -> request) and output (reply -> text/JSON): ctl/cli.h,
// and of the path resolver (ctl/path.h) on a temporary directory.
#include <catch2/catch.hpp>

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli.h"
#include "live.h"
#include "path.h"
#include "verbs.h"

using blkgate::Code;
using blkgate::Result;
using nlohmann::json;
namespace ctl = blkgate::ctl;

namespace {

// A resolver without I/O: relative paths go under /cwd; "FAIL..." fails with io_error.
Result fake_resolve(std::string_view path, bool directory, std::string* out) {
  if (path.starts_with("FAIL")) return Result::IoError("getcwd: boom");
  std::string p(path);
  *out = p[0] == '/' ? p : (directory ? "/cwd/dir/" : "/cwd/") + p;
  return Result::Ok();
}

ctl::Invocation parse(std::initializer_list<const char*> args) {
  std::vector<std::string> v(args.begin(), args.end());
  return ctl::Parse(v, fake_resolve);
}

// Parses and requires a call; returns it.
ctl::Invocation call(std::initializer_list<const char*> args) {
  ctl::Invocation inv = parse(args);
  INFO(inv.error.ToString());
  REQUIRE(inv.action == ctl::Action::call);
  return inv;
}

// Parses and requires invalid_argument whose message contains every fragment.
void rejects(std::initializer_list<const char*> args,
             std::initializer_list<const char*> fragments) {
  ctl::Invocation inv = parse(args);
  std::string line;
  for (const char* a : args) line += std::string(a) + " ";
  INFO("argv: " << line << "-> " << inv.error.ToString());
  REQUIRE(inv.action == ctl::Action::error);
  REQUIRE(inv.error.code() == Code::invalid_argument);
  for (const char* f : fragments) {
    INFO("fragment: " << f);
    CHECK(inv.error.message().find(f) != std::string::npos);
  }
  // One line.
  CHECK(inv.error.message().find('\n') == std::string::npos);
  // Nothing would be sent, and the output is the one-line error with exit 11.
  ctl::Output o = ctl::Render(inv);
  CHECK(o.status == 11);
  CHECK(o.out.empty());
  CHECK(o.err == "blkgatectl: invalid-argument: " + inv.error.message() + "\n");
}

bool contains(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

const json kVolume = {{"name", "v0"},
                      {"disk", "k0"},
                      {"offset", 0},
                      {"size", 67108864},
                      {"device", "/dev/ublkb0"},
                      {"dev_id", 0},
                      {"state", "online"},
                      {"read_only", false},
                      {"queues", 2},
                      {"depth", 128},
                      {"backend", "file"},
                      {"system", false},
                      {"dismount", "none"},
                      {"access_paths", {{{"path", "/mnt/v0"}, {"options", "nosuid,nodev"}}}},
                      {"mounts", {"/mnt/v0"}},
                      {"stats",
                       {{"reads", 1},
                        {"writes", 2},
                        {"flushes", 3},
                        {"discards", 0},
                        {"write_zeroes", 0},
                        {"refused", 0},
                        {"backend_errors", 0},
                        {"parked", 0}}}};
const json kDrive = {{"name", "d0"},
                     {"path", "/var/tmp/d0.img"},
                     {"size", 1073741824},
                     {"status", "online"},
                     {"disk", "k0"}};
const json kDisk = {{"name", "k0"},      {"drives", {"d0", "d1"}}, {"size", 2147483648},
                    {"state", "online"}, {"read_only", false},     {"volumes", {"v0"}}};

// Output of a call that got `r` and `data`.
ctl::Output reply(std::initializer_list<const char*> args, const Result& r, const json& data) {
  ctl::Invocation inv = call(args);
  return ctl::Render(inv, r, data);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Parsing: each verb to its op and args.

TEST_CASE("cli: drive verbs map to drive.* requests") {
  SECTION("add without size") {
    auto inv = call({"drive", "add", "d0", "/var/tmp/d0.img"});
    CHECK(inv.request.op == "drive.add");
    CHECK(inv.request.args == json{{"name", "d0"}, {"path", "/var/tmp/d0.img"}});
  }
  SECTION("add with size, relative path made absolute") {
    auto inv = call({"drive", "add", "d0", "img/d0.img", "--size", "1G"});
    CHECK(inv.request.args ==
          json{{"name", "d0"}, {"path", "/cwd/img/d0.img"}, {"size", 1073741824}});
  }
  SECTION("list") {
    auto inv = call({"drive", "list"});
    CHECK(inv.request.op == "drive.list");
    CHECK(inv.request.args == json::object());
  }
  SECTION("show") {
    auto inv = call({"drive", "show", "d0"});
    CHECK(inv.request.op == "drive.show");
    CHECK(inv.request.args == json{{"name", "d0"}});
  }
  SECTION("remove") {
    auto inv = call({"drive", "remove", "d0"});
    CHECK(inv.request.op == "drive.remove");
    CHECK(inv.request.args == json{{"name", "d0"}});
  }
  SECTION("set-status, every status") {
    for (const char* s : {"online", "offline", "failed", "not-ready"}) {
      auto inv = call({"drive", "set-status", "d0", s});
      CHECK(inv.request.op == "drive.set-status");
      CHECK(inv.request.args == json{{"name", "d0"}, {"status", s}});
    }
  }
}

TEST_CASE("cli: disk verbs map to disk.* requests") {
  SECTION("create with one and several drives, in order") {
    auto one = call({"disk", "create", "k0", "d0"});
    CHECK(one.request.op == "disk.create");
    CHECK(one.request.args == json{{"name", "k0"}, {"drives", {"d0"}}});
    auto three = call({"disk", "create", "k0", "d2", "d0", "d1"});
    CHECK(three.request.args == json{{"name", "k0"}, {"drives", {"d2", "d0", "d1"}}});
  }
  SECTION("list / show / delete") {
    CHECK(call({"disk", "list"}).request.op == "disk.list");
    auto show = call({"disk", "show", "k0"});
    CHECK(show.request.op == "disk.show");
    CHECK(show.request.args == json{{"name", "k0"}});
    auto del = call({"disk", "delete", "k0"});
    CHECK(del.request.op == "disk.delete");
    CHECK(del.request.args == json{{"name", "k0"}});
  }
  SECTION("offline sends force, false by default") {
    auto plain = call({"disk", "offline", "k0"});
    CHECK(plain.request.op == "disk.offline");
    CHECK(plain.request.args == json{{"name", "k0"}, {"force", false}});
    auto forced = call({"disk", "offline", "--force", "k0"});
    CHECK(forced.request.args == json{{"name", "k0"}, {"force", true}});
  }
  SECTION("online") {
    auto inv = call({"disk", "online", "k0"});
    CHECK(inv.request.op == "disk.online");
    CHECK(inv.request.args == json{{"name", "k0"}});
  }
  SECTION("set-readonly on|off") {
    auto on = call({"disk", "set-readonly", "k0", "on"});
    CHECK(on.request.op == "disk.set-readonly");
    CHECK(on.request.args == json{{"name", "k0"}, {"read_only", true}});
    auto off = call({"disk", "set-readonly", "k0", "off"});
    CHECK(off.request.args == json{{"name", "k0"}, {"read_only", false}});
  }
}

TEST_CASE("cli: volume create takes its options in any order and form") {
  const json minimal = {{"name", "v0"}, {"disk", "k0"}, {"size", 1073741824}, {"system", false}};
  for (auto inv : {call({"volume", "create", "v0", "--disk", "k0", "--size", "1G"}),
                   call({"volume", "create", "v0", "--size", "1G", "--disk", "k0"}),
                   call({"volume", "create", "--disk", "k0", "--size", "1G", "v0"}),
                   call({"volume", "create", "--size=1G", "v0", "--disk=k0"}),
                   call({"volume", "create", "--size", "1073741824", "--disk", "k0", "v0"})}) {
    CHECK(inv.request.op == "volume.create");
    CHECK(inv.request.args == minimal);
  }
  auto full = call({"volume", "create", "v1", "--disk", "k0", "--size", "64M", "--offset", "4k",
                    "--queues", "4", "--depth", "256", "--backend", "null", "--system"});
  CHECK(full.request.args == json{{"name", "v1"},
                                  {"disk", "k0"},
                                  {"size", 64u << 20},
                                  {"offset", 4096},
                                  {"queues", 4},
                                  {"depth", 256},
                                  {"backend", "null"},
                                  {"system", true}});
  for (const char* b : {"file", "null", "mem"}) {
    auto inv = call({"volume", "create", "v0", "--disk", "k0", "--size", "1G", "--backend", b});
    CHECK(inv.request.args["backend"] == b);
  }
}

TEST_CASE("cli: other volume verbs map to volume.* requests") {
  CHECK(call({"volume", "list"}).request.op == "volume.list");
  CHECK(call({"volume", "list"}).request.args == json::object());
  for (const char* verb : {"show", "delete", "online", "mount"}) {
    auto inv = call({"volume", verb, "v0"});
    CHECK(inv.request.op == std::string("volume.") + verb);
    CHECK(inv.request.args == json{{"name", "v0"}});
  }
  CHECK(call({"volume", "offline", "v0"}).request.args == json{{"name", "v0"}, {"force", false}});
  CHECK(call({"volume", "offline", "v0", "--force"}).request.args ==
        json{{"name", "v0"}, {"force", true}});
  CHECK(call({"volume", "offline", "v0"}).request.op == "volume.offline");

  auto dis = call({"volume", "dismount", "v0"});
  CHECK(dis.request.op == "volume.dismount");
  CHECK(dis.request.args == json{{"name", "v0"}, {"force", false}, {"permanent", false}});
  auto dis2 = call({"volume", "dismount", "--permanent", "v0", "--force"});
  CHECK(dis2.request.args == json{{"name", "v0"}, {"force", true}, {"permanent", true}});
}

TEST_CASE("cli: volume path verbs make DIR absolute") {
  auto add = call({"volume", "path", "add", "v0", "mnt"});
  CHECK(add.request.op == "volume.path.add");
  CHECK(add.request.args == json{{"name", "v0"}, {"path", "/cwd/dir/mnt"}});
  auto rm = call({"volume", "path", "remove", "v0", "/mnt/v0"});
  CHECK(rm.request.op == "volume.path.remove");
  CHECK(rm.request.args == json{{"name", "v0"}, {"path", "/mnt/v0"}});
  auto opts = call({"volume", "path", "add", "v0", "/m", "--options", "ro,noexec"});
  CHECK(opts.request.args == json{{"name", "v0"}, {"path", "/m"}, {"options", "ro,noexec"}});
  auto ls = call({"volume", "path", "list", "v0"});
  CHECK(ls.request.op == "volume.path.list");
  CHECK(ls.request.args == json{{"name", "v0"}});
}

TEST_CASE("cli: offline/online KIND/NAME map to resource.*") {
  for (const char* kind : {"drive", "disk", "volume"}) {
    const std::string arg = std::string(kind) + "/x0";
    auto off = call({"offline", arg.c_str()});
    CHECK(off.request.op == "resource.offline");
    CHECK(off.request.args == json{{"kind", kind}, {"name", "x0"}});
    auto on = call({"online", arg.c_str()});
    CHECK(on.request.op == "resource.online");
    CHECK(on.request.args == json{{"kind", kind}, {"name", "x0"}});
  }
}

TEST_CASE("cli: refresh, list and ping take no arguments") {
  for (const char* verb : {"refresh", "list", "ping"}) {
    auto inv = call({verb});
    CHECK(inv.request.op == verb);
    CHECK(inv.request.args ==
          (std::string_view(verb) == "list" ? json{{"names", false}} : json::object()));
    rejects({verb, "extra"}, {verb, "unexpected argument 'extra'"});
  }
}

TEST_CASE("cli: list --names prints every object as KIND/NAME, one a line") {
  auto inv = call({"list", "--names"});
  CHECK(inv.request.args == json{{"names", true}});
  const json data = {{"drives", {{{"name", "d0"}}}},
                     {"disks", {{{"name", "k0"}}}},
                     {"volumes", {{{"name", "v0"}}, {{"name", "v1"}}}}};
  CHECK(ctl::Render(inv, Result::Ok(), data, {}).out ==
        "drive/d0\ndisk/k0\nvolume/v0\nvolume/v1\n");
  // The same data without --names: the three tables.
  CHECK(ctl::Render(call({"list"}), Result::Ok(), data, {}).out.find("NAME") != std::string::npos);
}

TEST_CASE("cli: global options before or after the verb") {
  auto a = call({"--socket", "/run/x.sock", "--json", "volume", "list"});
  CHECK(a.socket == "/run/x.sock");
  CHECK(a.json);
  auto b = call({"volume", "list", "--json", "--socket=/run/y.sock"});
  CHECK(b.socket == "/run/y.sock");
  CHECK(b.json);
  auto c = call({"volume", "show", "--json", "v0"});
  CHECK(c.json);
  CHECK(c.request.args == json{{"name", "v0"}});
  auto d = call({"ping"});
  CHECK(d.socket.empty());
  CHECK_FALSE(d.json);
}

TEST_CASE("cli: -- ends the options") {
  auto inv = call({"drive", "add", "d0", "--", "--weird-file"});
  CHECK(inv.request.args == json{{"name", "d0"}, {"path", "/cwd/--weird-file"}});
  auto lone = call({"drive", "add", "d0", "-"});
  CHECK(lone.request.args["path"] == "/cwd/-");
}

// ---------------------------------------------------------------------------------------------
// Parsing: every class of bad input is invalid-argument before any call.

TEST_CASE("cli: no arguments prints the usage on stderr, exit 11") {
  ctl::Invocation inv = parse({});
  REQUIRE(inv.action == ctl::Action::error);
  CHECK(inv.error.code() == Code::invalid_argument);
  CHECK(inv.show_usage);
  ctl::Output o = ctl::Render(inv);
  CHECK(o.status == 11);
  CHECK(o.out.empty());
  CHECK(contains(o.err, "blkgatectl: invalid-argument: missing verb\n"));
  CHECK(contains(o.err, "usage: blkgatectl"));
  // Only global options: still no verb.
  CHECK(parse({"--json"}).show_usage);
}

TEST_CASE("cli: unknown verbs") {
  rejects({"frobnicate"}, {"unknown verb 'frobnicate'", "drive, disk, volume"});
  rejects({"volume", "frob", "v0"}, {"volume: unknown verb 'frob'", "create"});
  rejects({"volume", "path", "move", "v0"}, {"volume path: unknown verb 'move'", "add"});
  rejects({"drive"}, {"drive: missing verb", "add, list, show, remove, set-status"});
  rejects({"volume", "path"}, {"volume path: missing verb", "add, remove, list"});
  // An unknown verb is not hidden by --help.
  rejects({"frob", "--help"}, {"unknown verb 'frob'"});
}

TEST_CASE("cli: unknown options, repeated options, option values") {
  rejects({"volume", "list", "--bogus"}, {"volume list: unknown option --bogus"});
  rejects({"disk", "create", "k0", "d0", "--force"}, {"disk create: unknown option --force"});
  rejects({"--bogus", "ping"}, {"unknown option --bogus"});
  rejects({"ping", "-x"}, {"ping: unknown option -x"});
  rejects({"volume", "create", "v0", "--disk", "k0", "--size", "1G", "--size", "2G"},
          {"--size given twice"});
  rejects({"volume", "offline", "v0", "--force", "--force"}, {"--force given twice"});
  rejects({"volume", "offline", "v0", "--force=yes"}, {"--force takes no value"});
  rejects({"ping", "--json=1"}, {"--json takes no value"});
  rejects({"volume", "create", "v0", "--disk", "k0", "--size"}, {"--size needs a value"});
  rejects({"ping", "--socket"}, {"--socket needs a value"});
  rejects({"ping", "--socket="}, {"--socket needs a value"});
  rejects({"--socket", "/a", "ping", "--socket", "/b"}, {"--socket given twice"});
}

TEST_CASE("cli: --timeout SECS bounds connecting and the call; 0 waits forever") {
  CHECK(call({"ping"}).timeout_s == 60);
  CHECK(call({"--timeout", "5", "ping"}).timeout_s == 5);
  CHECK(call({"ping", "--timeout=0"}).timeout_s == 0);
  rejects({"ping", "--timeout"}, {"--timeout needs a value"});
  rejects({"ping", "--timeout", "-1"}, {"--timeout: bad number of seconds '-1'"});
  rejects({"ping", "--timeout", "1.5"}, {"--timeout: bad number of seconds '1.5'"});
  rejects({"ping", "--timeout", "99999"}, {"--timeout: bad number of seconds '99999'"});
  rejects({"--timeout", "1", "ping", "--timeout", "2"}, {"--timeout given twice"});
}

TEST_CASE("cli: missing and extra arguments") {
  rejects({"drive", "add", "d0"}, {"drive add: missing PATH"});
  rejects({"drive", "add"}, {"drive add: missing NAME"});
  rejects({"drive", "show"}, {"drive show: missing NAME"});
  rejects({"drive", "show", "d0", "d1"}, {"drive show: unexpected argument 'd1'"});
  rejects({"drive", "set-status", "d0"}, {"missing online|offline|failed|not-ready"});
  rejects({"disk", "create", "k0"}, {"disk create: missing DRIVE"});
  rejects({"disk", "set-readonly", "k0"}, {"missing on|off"});
  rejects({"volume", "create", "v0", "--size", "1G"}, {"volume create: missing --disk"});
  rejects({"volume", "create", "v0", "--disk", "k0"}, {"volume create: missing --size"});
  rejects({"volume", "create", "--disk", "k0", "--size", "1G"}, {"volume create: missing NAME"});
  rejects({"volume", "path", "add", "v0"}, {"volume path add: missing DIR"});
  rejects({"volume", "path", "list", "v0", "/mnt"}, {"unexpected argument '/mnt'"});
  rejects({"volume", "path", "add", "v0", "/m", "--options"}, {"--options needs a value"});
  rejects({"volume", "path", "add", "v0", "/m", "--options", "suid"},
          {"volume path add: --options: mount option 'suid' is never allowed"});
  rejects({"volume", "path", "add", "v0", "/m", "--options", "ro,bogus"},
          {"volume path add: --options: unknown mount option 'bogus'"});
  rejects({"offline"}, {"offline: missing KIND/NAME"});
  rejects({"online", "volume/v0", "volume/v1"}, {"unexpected argument 'volume/v1'"});
}

TEST_CASE("cli: bad sizes and numbers") {
  for (const char* s : {"1X", "", "-1", "1.5G", "G", "99999999999999999999"}) {
    rejects({"volume", "create", "v0", "--disk", "k0", "--size", s},
            {"volume create: --size: bad size"});
  }
  rejects({"volume", "create", "v0", "--disk", "k0", "--size", "1G", "--offset", "x"},
          {"--offset: bad size 'x'"});
  rejects({"drive", "add", "d0", "/x", "--size", "12Q"}, {"drive add: --size: bad size '12Q'"});
  for (const char* n : {"x", "-1", "+4", "65536", "1e3", "4k", ""}) {
    rejects({"volume", "create", "v0", "--disk", "k0", "--size", "1G", "--queues", n},
            {"--queues: bad number"});
  }
  rejects({"volume", "create", "v0", "--disk", "k0", "--size", "1G", "--depth", "big"},
          {"--depth: bad number 'big'"});
}

TEST_CASE("cli: bad status, backend, on|off, KIND/NAME and names") {
  rejects({"drive", "set-status", "d0", "unknown"}, {"bad status 'unknown'"});
  rejects({"drive", "set-status", "d0", "Online"}, {"bad status 'Online'"});
  rejects({"volume", "create", "v0", "--disk", "k0", "--size", "1G", "--backend", "nvme"},
          {"--backend: bad backend 'nvme'"});
  rejects({"disk", "set-readonly", "k0", "yes"}, {"expected on or off, not 'yes'"});
  rejects({"offline", "v0"}, {"bad KIND/NAME 'v0'"});
  rejects({"offline", "vol/v0"}, {"bad KIND/NAME 'vol/v0'"});
  rejects({"online", "volume/"}, {"bad volume name ''"});
  rejects({"online", "disk/a/b"}, {"bad disk name 'a/b'"});
  rejects({"drive", "show", "bad name"}, {"drive show: bad drive name 'bad name'"});
  rejects({"volume", "show", ".hidden"}, {"bad volume name '.hidden'"});
  rejects({"disk", "create", "k0", "d0", "d$"}, {"bad drive name 'd$'"});
  rejects({"volume", "create", "v0", "--disk", "k 0", "--size", "1G"},
          {"--disk: bad disk name 'k 0'"});
  const std::string long_name(65, 'a');
  rejects({"volume", "show", long_name.c_str()}, {"bad volume name"});
}

TEST_CASE("cli: a path that cannot be resolved is reported with the resolver's code") {
  ctl::Invocation inv = parse({"drive", "add", "d0", "FAIL"});
  REQUIRE(inv.action == ctl::Action::error);
  CHECK(inv.error.code() == Code::io_error);
  CHECK(contains(inv.error.message(), "drive add: PATH 'FAIL': getcwd: boom"));
  CHECK(ctl::Render(inv).status == 29);
}

TEST_CASE("cli: a path that is not UTF-8 is refused, not sent changed (found by fuzz/cli)") {
  // JSON carries UTF-8 only: the daemon used to get U+FFFD in place of the byte, another file.
  for (const char* path : {"/srv/d\x88.img", "rel/d\xC3.img"}) {
    ctl::Invocation inv = parse({"drive", "add", "d0", path, "--size", "1G"});
    REQUIRE(inv.action == ctl::Action::error);
    CHECK(inv.error.code() == Code::invalid_argument);
    CHECK(inv.error.message() ==
          "drive add: PATH is not valid UTF-8 (the protocol carries UTF-8 only)");
  }
  ctl::Invocation dir = parse({"volume", "path", "add", "v0", "/mnt/\xED\xA0\x80"});
  REQUIRE(dir.action == ctl::Action::error);
  CHECK(contains(dir.error.message(), "volume path add: DIR is not valid UTF-8"));
  CHECK(call({"drive", "add", "d0", "/srv/caf\xC3\xA9.img"}).request.args["path"] ==
        "/srv/caf\xC3\xA9.img");
}

// ---------------------------------------------------------------------------------------------
// Help.

TEST_CASE("cli: --help and -h on every verb print its usage, exit 0") {
  const std::vector<std::vector<const char*>> verbs = {{"drive", "add"},
                                                       {"drive", "list"},
                                                       {"drive", "show"},
                                                       {"drive", "remove"},
                                                       {"drive", "set-status"},
                                                       {"disk", "create"},
                                                       {"disk", "list"},
                                                       {"disk", "show"},
                                                       {"disk", "delete"},
                                                       {"disk", "offline"},
                                                       {"disk", "online"},
                                                       {"disk", "set-readonly"},
                                                       {"volume", "create"},
                                                       {"volume", "list"},
                                                       {"volume", "show"},
                                                       {"volume", "delete"},
                                                       {"volume", "offline"},
                                                       {"volume", "online"},
                                                       {"volume", "dismount"},
                                                       {"volume", "mount"},
                                                       {"volume", "path", "add"},
                                                       {"volume", "path", "remove"},
                                                       {"volume", "path", "list"},
                                                       {"offline"},
                                                       {"online"},
                                                       {"refresh"},
                                                       {"list"},
                                                       {"ping"}};
  for (const auto& words : verbs) {
    std::string joined;
    for (const char* w : words) joined += (joined.empty() ? "" : " ") + std::string(w);
    for (const char* h : {"--help", "-h"}) {
      std::vector<std::string> argv(words.begin(), words.end());
      argv.push_back(h);
      ctl::Invocation inv = ctl::Parse(argv, fake_resolve);
      INFO(joined << " " << h);
      REQUIRE(inv.action == ctl::Action::help);
      ctl::Output o = ctl::Render(inv);
      CHECK(o.status == 0);
      CHECK(o.err.empty());
      CHECK(
          contains(o.out, "usage: blkgatectl [--socket PATH] [--timeout SECS] [--json] " + joined));
    }
  }
}

TEST_CASE("cli: help for groups, globally, and despite bad arguments") {
  auto group = parse({"volume", "--help"});
  REQUIRE(group.action == ctl::Action::help);
  CHECK(contains(group.help, "volume create NAME --disk DISK --size BYTES"));
  CHECK(contains(group.help, "volume path add NAME DIR"));
  CHECK_FALSE(contains(group.help, "drive add"));
  auto sub = parse({"volume", "path", "-h"});
  REQUIRE(sub.action == ctl::Action::help);
  CHECK(contains(sub.help, "volume path remove NAME DIR"));
  CHECK_FALSE(contains(sub.help, "volume create"));

  for (auto inv : {parse({"--help"}), parse({"-h"})}) {
    REQUIRE(inv.action == ctl::Action::help);
    CHECK(inv.help == ctl::Usage());
  }
  CHECK(contains(ctl::Usage(), "drive set-status NAME online|offline|failed|not-ready"));
  CHECK(contains(ctl::Usage(), "offline KIND/NAME"));

  // Verb-specific details and options.
  auto create = parse({"volume", "create", "--help"});
  REQUIRE(create.action == ctl::Action::help);
  CHECK(contains(create.help, "--backend file|null|mem"));
  CHECK(contains(create.help, "--system"));
  // Help wins over bad arguments, and comes from anywhere on the line.
  CHECK(parse({"volume", "create", "v0", "--size", "1X", "--help"}).action == ctl::Action::help);
  CHECK(parse({"--help", "volume", "create"}).help == create.help);
}

// ---------------------------------------------------------------------------------------------
// Output: JSON.

TEST_CASE("cli: --json prints one object, result and message first, then the data") {
  ctl::Output o = reply({"--json", "volume", "show", "v0"}, Result::Ok(), kVolume);
  CHECK(o.status == 0);
  CHECK(o.err.empty());
  REQUIRE(!o.out.empty());
  CHECK(o.out.back() == '\n');
  CHECK(std::count(o.out.begin(), o.out.end(), '\n') == 1);
  CHECK(o.out.rfind("{\"result\":\"ok\",\"message\":\"\",", 0) == 0);
  json j = json::parse(o.out);
  json expected = kVolume;
  expected["result"] = "ok";
  expected["message"] = "";
  CHECK(j == expected);
  // Stable: the same reply prints the same bytes.
  CHECK(reply({"--json", "volume", "show", "v0"}, Result::Ok(), kVolume).out == o.out);
}

TEST_CASE("cli: --json on an error reply: the object on stdout and the line on stderr") {
  ctl::Output o = reply({"volume", "delete", "v0", "--json"},
                        Result::DeviceInUse("volume v0 is mounted"), json::object());
  CHECK(o.status == 20);
  CHECK(json::parse(o.out) ==
        json{{"result", "device-in-use"}, {"message", "volume v0 is mounted"}});
  CHECK(o.err == "blkgatectl: device-in-use: volume v0 is mounted\n");
}

TEST_CASE("cli: --json for errors found before the call") {
  ctl::Invocation inv = parse({"--json", "volume", "create", "v0", "--disk", "k0", "--size", "1X"});
  REQUIRE(inv.action == ctl::Action::error);
  ctl::Output o = ctl::Render(inv);
  CHECK(o.status == 11);
  json j = json::parse(o.out);
  CHECK(j["result"] == "invalid-argument");
  CHECK(contains(j["message"].get<std::string>(), "bad size '1X'"));
  CHECK(j.size() == 2);

  ctl::Output none = ctl::Render(parse({"--json"}));
  CHECK(json::parse(none.out) == json{{"result", "invalid-argument"}, {"message", "missing verb"}});
  // --json given after an unknown verb still counts.
  ctl::Output late = ctl::Render(parse({"frob", "--json"}));
  CHECK(json::parse(late.out)["result"] == "invalid-argument");
}

TEST_CASE("cli: --json copes with odd replies") {
  // Data that is not an object contributes nothing.
  ctl::Output o = reply({"--json", "ping"}, Result::Ok(), json::array({1, 2}));
  CHECK(json::parse(o.out) == json{{"result", "ok"}, {"message", ""}});
  // Data members cannot override result/message.
  ctl::Output p = reply({"--json", "ping"}, Result::NotReady("no"),
                        json{{"result", "ok"}, {"message", "x"}, {"pid", 7}});
  CHECK(json::parse(p.out) == json{{"result", "not-ready"}, {"message", "no"}, {"pid", 7}});
  // Invalid UTF-8 in a message is replaced, not thrown.
  ctl::Output q = reply({"--json", "ping"}, Result::IoError("bad \xff byte"), json::object());
  CHECK(q.status == 29);
  CHECK(json::parse(q.out)["result"] == "io-error");
}

// ---------------------------------------------------------------------------------------------
// Output: human.

TEST_CASE("cli: a non-ok reply prints one line on stderr and exits with its code") {
  for (int i = 1; i < blkgate::kCodeCount; ++i) {
    const Code c = static_cast<Code>(i);
    ctl::Output o = reply({"volume", "offline", "v0"}, Result::Error(c, "why"), json::object());
    INFO(blkgate::CodeName(c));
    CHECK(o.status == blkgate::CodeExitStatus(c));
    CHECK(o.status == 10 + i);
    CHECK(o.out.empty());
    CHECK(o.err == "blkgatectl: " + std::string(blkgate::CodeName(c)) + ": why\n");
  }
}

TEST_CASE("cli: volume list is an aligned table") {
  json v1 = kVolume;
  v1["name"] = "database";
  v1["device"] = nullptr;
  v1["state"] = "offline";
  v1["offset"] = 67108864;
  v1["size"] = 1536;
  v1["mounts"] = json::array();
  ctl::Output o = reply({"volume", "list"}, Result::Ok(), json{{"volumes", {kVolume, v1}}});
  CHECK(o.status == 0);
  CHECK(o.out ==
        "NAME      DEVICE       SIZE  STATE    DISK  OFFSET  MOUNTS\n"
        "v0        /dev/ublkb0  64M   online   k0    0       /mnt/v0\n"
        "database  -            1536  offline  k0    64M     -\n");
  // No volumes: the header alone.
  CHECK(reply({"volume", "list"}, Result::Ok(), json{{"volumes", json::array()}}).out ==
        "NAME  DEVICE  SIZE  STATE  DISK  OFFSET  MOUNTS\n");
}

TEST_CASE("cli: drive list, disk list and list tables") {
  json d1 = kDrive;
  d1["name"] = "d1";
  d1["disk"] = nullptr;
  d1["status"] = "not-ready";
  CHECK(reply({"drive", "list"}, Result::Ok(), json{{"drives", {kDrive, d1}}}).out ==
        "NAME  PATH             SIZE  STATUS     DISK\n"
        "d0    /var/tmp/d0.img  1G    online     k0\n"
        "d1    /var/tmp/d0.img  1G    not-ready  -\n");
  CHECK(reply({"disk", "list"}, Result::Ok(), json{{"disks", {kDisk}}}).out ==
        "NAME  SIZE  STATE   READ-ONLY  DRIVES  VOLUMES\n"
        "k0    2G    online  no         d0,d1   v0\n");
  const std::string all =
      reply({"list"}, Result::Ok(),
            json{{"drives", {kDrive}}, {"disks", {kDisk}}, {"volumes", {kVolume}}})
          .out;
  CHECK(all ==
        "NAME  PATH             SIZE  STATUS  DISK\n"
        "d0    /var/tmp/d0.img  1G    online  k0\n"
        "\n"
        "NAME  SIZE  STATE   READ-ONLY  DRIVES  VOLUMES\n"
        "k0    2G    online  no         d0,d1   v0\n"
        "\n"
        "NAME  DEVICE       SIZE  STATE   DISK  OFFSET  MOUNTS\n"
        "v0    /dev/ublkb0  64M   online  k0    0       /mnt/v0\n");
  // refresh prints the drives.
  CHECK(reply({"refresh"}, Result::Ok(), json{{"drives", {kDrive}}}).out ==
        "NAME  PATH             SIZE  STATUS  DISK\n"
        "d0    /var/tmp/d0.img  1G    online  k0\n");
}

TEST_CASE("cli: show prints key: value lines in the documented order") {
  CHECK(reply({"drive", "show", "d0"}, Result::Ok(), kDrive).out ==
        "name: d0\npath: /var/tmp/d0.img\nsize: 1G (1073741824 bytes)\nstatus: online\n"
        "disk: k0\n");
  CHECK(reply({"disk", "show", "k0"}, Result::Ok(), kDisk).out ==
        "name: k0\ndrives: d0,d1\nsize: 2G (2147483648 bytes)\nstate: online\n"
        "read_only: no\nvolumes: v0\n");
  const std::string v = reply({"volume", "show", "v0"}, Result::Ok(), kVolume).out;
  CHECK(v.rfind("name: v0\ndisk: k0\noffset: 0\nsize: 64M (67108864 bytes)\n"
                "device: /dev/ublkb0\ndev_id: 0\nstate: online\n",
                0) == 0);
  CHECK(contains(
      v,
      "access_paths: /mnt/v0 (nosuid,nodev)\nmounts: /mnt/v0\nstats.reads: 1\nstats.writes: 2\n"
      "stats.flushes: 3\n"));
  CHECK(contains(v, "stats.parked: 0\n"));
  // Unknown fields are shown too, after the known ones.
  json extra = kDrive;
  extra["zz_new"] = 5;
  CHECK(contains(reply({"drive", "show", "d0"}, Result::Ok(), extra).out, "disk: k0\nzz_new: 5\n"));
}

TEST_CASE("cli: mutating verbs print one confirmation line") {
  json dev = kVolume;
  CHECK(reply({"volume", "create", "v0", "--disk", "k0", "--size", "64M"}, Result::Ok(), dev).out ==
        "volume v0 created: /dev/ublkb0\n");
  CHECK(reply({"drive", "add", "d0", "/var/tmp/d0.img"}, Result::Ok(), kDrive).out ==
        "drive d0 added: /var/tmp/d0.img, 1G\n");
  CHECK(reply({"drive", "remove", "d0"}, Result::Ok(), json::object()).out == "drive d0 removed\n");
  json failed = kDrive;
  failed["status"] = "failed";
  CHECK(reply({"drive", "set-status", "d0", "failed"}, Result::Ok(), failed).out ==
        "drive d0 is failed\n");
  CHECK(reply({"disk", "create", "k0", "d0", "d1"}, Result::Ok(), kDisk).out ==
        "disk k0 created: d0,d1, 2G\n");
  CHECK(reply({"disk", "delete", "k0"}, Result::Ok(), json::object()).out == "disk k0 deleted\n");
  json off = kDisk;
  off["state"] = "offline";
  CHECK(reply({"disk", "offline", "k0"}, Result::Ok(), off).out == "disk k0 is offline\n");
  json ro = kDisk;
  ro["read_only"] = true;
  CHECK(reply({"disk", "set-readonly", "k0", "on"}, Result::Ok(), ro).out ==
        "disk k0 is read-only\n");
  CHECK(reply({"volume", "delete", "v0"}, Result::Ok(), json::object()).out ==
        "volume v0 deleted\n");
  json voff = kVolume;
  voff["state"] = "offline";
  CHECK(reply({"volume", "offline", "v0"}, Result::Ok(), voff).out == "volume v0 is offline\n");
  json perm = kVolume;
  perm["dismount"] = "permanent";
  CHECK(reply({"volume", "dismount", "v0", "--permanent"}, Result::Ok(), perm).out ==
        "volume v0 dismounted permanently\n");
  CHECK(reply({"volume", "mount", "v0"}, Result::Ok(), kVolume).out ==
        "volume v0 mounted on /mnt/v0\n");
  CHECK(reply({"volume", "path", "add", "v0", "/mnt/v0"}, Result::Ok(), kVolume).out ==
        "volume v0: access path /mnt/v0 added\n");
  const json two = {{{"path", "/mnt/a"}, {"options", "nosuid,nodev"}},
                    {{"path", "/mnt/b"}, {"options", "nosuid,nodev,ro,noexec"}}};
  CHECK(reply({"volume", "path", "list", "v0"}, Result::Ok(), json{{"access_paths", two}}).out ==
        "/mnt/a (nosuid,nodev)\n/mnt/b (nosuid,nodev,ro,noexec)\n");
  json shown = kVolume;
  shown["access_paths"] = two;
  CHECK(contains(reply({"volume", "show", "v0"}, Result::Ok(), shown).out,
                 "access_paths: /mnt/a (nosuid,nodev), /mnt/b (nosuid,nodev,ro,noexec)\n"));
  CHECK(reply({"offline", "disk/k0"}, Result::Ok(),
              json{{"changed",
                    {{{"kind", "volume"}, {"name", "v0"}, {"state", "offline"}},
                     {{"kind", "disk"}, {"name", "k0"}, {"state", "offline"}}}}})
            .out == "volume v0 is offline\ndisk k0 is offline\n");
  CHECK(reply({"online", "disk/k0"}, Result::Ok(), json{{"changed", json::array()}}).out ==
        "nothing changed\n");
  CHECK(reply({"ping"}, Result::Ok(), json{{"version", "0.1.0"}, {"pid", 42}}).out ==
        "blkgate 0.1.0, pid 42\n");
}

TEST_CASE("cli: human output survives missing or mistyped reply fields") {
  CHECK(reply({"volume", "list"}, Result::Ok(), json{{"volumes", {{{"name", 5}}}}}).status == 0);
  CHECK(reply({"volume", "show", "v0"}, Result::Ok(), json{{"size", "big"}}).out == "size: big\n");
  CHECK(reply({"drive", "add", "d0", "/x"}, Result::Ok(), json::object()).out ==
        "drive d0 added: /x\n");
  CHECK(reply({"list"}, Result::Ok(), json::object()).status == 0);
}

// ---------------------------------------------------------------------------------------------
// Path resolution (real file system, in a temporary directory).

TEST_CASE("cli: ResolvePath makes paths absolute") {
  char tmpl[] = "/tmp/blkgatectl-test-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  const std::filesystem::path root = std::filesystem::canonical(tmpl);
  std::filesystem::create_directory(root / "sub");
  std::ofstream(root / "sub" / "file.img") << "x";
  std::filesystem::create_symlink(root / "sub" / "file.img", root / "link.img");
  std::filesystem::create_directory_symlink(root / "sub", root / "dirlink");
  const auto old = std::filesystem::current_path();
  std::filesystem::current_path(root);

  std::string out;
  SECTION("an existing file, relative") {
    REQUIRE(ctl::ResolvePath("sub/file.img", false, &out).ok());
    CHECK(out == (root / "sub" / "file.img").string());
  }
  SECTION("a missing file: realpath of the parent") {
    REQUIRE(ctl::ResolvePath("dirlink/../sub/new.img", false, &out).ok());
    CHECK(out == (root / "sub" / "new.img").string());
  }
  SECTION("a drive keeps its last symlink name") {
    REQUIRE(ctl::ResolvePath("./link.img", false, &out).ok());
    CHECK(out == (root / "link.img").string());
  }
  SECTION("a directory is made absolute, links kept for the daemon to refuse, slash dropped") {
    REQUIRE(ctl::ResolvePath("dirlink/", true, &out).ok());
    CHECK(out == (root / "dirlink").string());
    REQUIRE(ctl::ResolvePath("dirlink/x/", true, &out).ok());
    CHECK(out == (root / "dirlink" / "x").string());
    REQUIRE(ctl::ResolvePath(".", true, &out).ok());
    CHECK(out == root.string());
    REQUIRE(ctl::ResolvePath("./sub/", true, &out).ok());
    CHECK(out == (root / "sub").string());
  }
  SECTION("a missing parent: lexically absolute") {
    REQUIRE(ctl::ResolvePath("nope/x/../y", true, &out).ok());
    CHECK(out == (root / "nope" / "y").string());
  }
  SECTION("absolute paths and errors") {
    REQUIRE(ctl::ResolvePath("/", true, &out).ok());
    CHECK(out == "/");
    REQUIRE(ctl::ResolvePath("/new.img", false, &out).ok());
    CHECK(out == "/new.img");
    CHECK(ctl::ResolvePath("", false, &out).code() == Code::invalid_argument);
  }

  std::filesystem::current_path(old);
  std::filesystem::remove_all(root);
}

TEST_CASE("cli: stats and monitor: blkgatectl's own options are checked and never sent") {
  ctl::Invocation inv = parse({"stats", "v0", "--watch", "2", "--count", "3"});
  REQUIRE(inv.action == ctl::Action::call);
  CHECK(inv.request.op == "stats");
  CHECK(inv.request.args == json{{"name", "v0"}});
  CHECK(inv.local["watch"] == 2);
  CHECK(inv.local["count"] == 3);
  CHECK(inv.local["prometheus"] == false);
  CHECK(ctl::IsLive(inv));
  inv = parse({"stats"});  // NAME is optional
  REQUIRE(inv.action == ctl::Action::call);
  CHECK(inv.request.args == json::object());
  CHECK_FALSE(ctl::IsLive(inv));
  inv = parse({"stats", "--prometheus"});
  CHECK(inv.local["prometheus"] == true);
  CHECK(inv.request.args == json::object());
  inv = parse({"stats", "--watch", "0"});
  REQUIRE(inv.action == ctl::Action::error);
  CHECK(inv.error.message() == "stats: --watch must be 1 to 3600 seconds");
  CHECK(parse({"stats", "a", "b"}).action == ctl::Action::error);
  inv = parse({"monitor", "--replay", "--count", "1", "--json"});
  REQUIRE(inv.action == ctl::Action::call);
  CHECK(inv.request.args == json{{"replay", true}});
  CHECK(inv.local["count"] == 1);
  CHECK(ctl::IsLive(inv));
  CHECK(parse({"monitor", "--count", "0"}).action == ctl::Action::error);
  CHECK(ctl::VerbHelp(ctl::Verbs()[0]).find("usage:") == 0);
  bool found = false;
  for (const ctl::Verb& v : ctl::Verbs())
    if (v.op->name == "stats") {
      found = true;
      CHECK(ctl::VerbHelp(v).find("stats [NAME] [--watch SECS] [--count N] [--prometheus]") !=
            std::string::npos);
    }
  CHECK(found);
}
