// The operation registry: argument validation at the edge, claims, the table's own
// consistency, and docs/control-protocol.md generated from it.
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "blkgate/ops.h"

using namespace blkgate;
using nlohmann::json;

namespace {

Result Check(std::string_view op, const json& args, ops::Args* out = nullptr) {
  ops::Args a;
  const ops::OpSpec* spec = ops::Find(op);
  REQUIRE(spec != nullptr);
  return ops::Validate(*spec, args, out ? out : &a);
}

std::string Between(const std::string& text, const std::string& begin, const std::string& end) {
  const std::size_t b = text.find(begin);
  const std::size_t e = text.find(end);
  if (b == std::string::npos || e == std::string::npos) return "<markers missing>";
  const std::size_t start = text.find('\n', b) + 1;
  return text.substr(start, e - start);
}

}  // namespace

TEST_CASE(
    "ops: every op is found by name, has a handler (or is local, or a stream the daemon answers) "
    "and unique CLI words") {
  std::set<std::string_view> names, words;
  for (const ops::OpSpec& op : ops::All()) {
    INFO(op.name);
    REQUIRE(ops::Find(op.name) == &op);
    REQUIRE((op.run != nullptr) != (op.local || op.stream));
    REQUIRE_FALSE((op.local && op.stream));
    for (const ops::ArgSpec& a : op.args)  // blkgatectl's own options are options
      if (a.local) REQUIRE(a.form == ops::ArgForm::option);
    REQUIRE(names.insert(op.name).second);
    REQUIRE(words.insert(op.words).second);
    REQUIRE_FALSE(op.summary.empty());
    REQUIRE_FALSE(op.details.empty());
    // An op that changes objects claims them; a daemon op (root only: shutdown) changes none.
    REQUIRE(((op.read_only || op.name == "shutdown") == (op.claim == ops::ClaimRule::none)));
    if (op.printer == ops::Printer::line || op.printer == ops::Printer::added)
      REQUIRE_FALSE(op.done.empty());
    bool names_seen = false;
    for (const ops::ArgSpec& a : op.args) {
      REQUIRE_FALSE(names_seen);  // a names list is the last positional
      names_seen = a.type == ops::ArgType::names;
      if (a.form == ops::ArgForm::option) REQUIRE(a.cli.starts_with("--"));
    }
  }
  REQUIRE(ops::Find("volume.frobnicate") == nullptr);
}

TEST_CASE("ops: required, unknown and mistyped arguments are named") {
  REQUIRE(Check("volume.offline", {{"name", "v0"}}).ok());
  Result r = Check("volume.offline", json::object());
  REQUIRE(r.code() == Code::invalid_argument);
  REQUIRE(r.message() == "missing argument 'name'");
  r = Check("volume.offline", {{"name", "v0"}, {"forse", true}});
  REQUIRE(r.message() == "unknown argument 'forse' for volume.offline");
  REQUIRE(Check("volume.offline", {{"name", 5}}).message() == "argument 'name' must be a string");
  REQUIRE(Check("volume.offline", {{"name", "v0"}, {"force", "yes"}}).message() ==
          "argument 'force' must be true or false");
  REQUIRE(Check("volume.create", {{"name", "v"}, {"disk", "k"}, {"size", -1}}).message() ==
          "argument 'size' must be a non-negative integer");
  REQUIRE(Check("volume.create", {{"name", "v"}, {"disk", "k"}, {"size", 4096.5}}).code() ==
          Code::invalid_argument);
  REQUIRE(Check("volume.offline", json::array()).code() == Code::invalid_argument);
  // null is absent: a required member that is null is missing.
  REQUIRE(Check("volume.offline", {{"name", nullptr}}).message() == "missing argument 'name'");
}

TEST_CASE("ops: names, NUL bytes, ranges and lists") {
  REQUIRE(Check("volume.show", {{"name", "../etc"}}).code() == Code::invalid_argument);
  REQUIRE(Check("volume.show", {{"name", std::string("v\0x", 3)}}).message() ==
          "argument 'name' must be free of NUL bytes");
  json create = {{"name", "v"}, {"disk", "k"}, {"size", 4096}};
  REQUIRE(Check("volume.create", create).ok());
  create["queues"] = 0;
  REQUIRE(Check("volume.create", create).message() == "queues must be 1..64");
  create["queues"] = 64;
  REQUIRE(Check("volume.create", create).ok());
  create["depth"] = 4097;
  REQUIRE(Check("volume.create", create).message() == "depth must be a power of two in 1..4096");
  REQUIRE(Check("disk.create", {{"name", "k"}, {"drives", json::array()}}).message() ==
          "argument 'drives' must be a list of names");
  REQUIRE(Check("disk.create", {{"name", "k"}, {"drives", {"a", 3}}}).code() ==
          Code::invalid_argument);
  ops::Args args;
  REQUIRE(Check("disk.create", {{"name", "k"}, {"drives", {"a", "b"}}}, &args).ok());
  REQUIRE(args.Names("drives") == std::vector<std::string>{"a", "b"});
}

TEST_CASE("ops: paths are absolute, NUL-free, normalised once at the edge") {
  ops::Args args;
  REQUIRE(Check("volume.path.add", {{"name", "v"}, {"path", "/x//m/./"}}, &args).ok());
  REQUIRE(args.Str("path") == "/x/m");
  REQUIRE(Check("volume.path.add", {{"name", "v"}, {"path", "m"}}).message() ==
          "access path must be absolute: 'm'");
  REQUIRE(Check("volume.path.add", {{"name", "v"}, {"path", "/x/../etc"}}).code() ==
          Code::invalid_argument);
  REQUIRE(
      Check("drive.add", {{"name", "d"}, {"path", std::string("/tmp/a.img\0/etc", 15)}}).code() ==
      Code::invalid_argument);
  std::string out;
  REQUIRE(ops::NormalisePath("p", "/", &out).ok());
  REQUIRE(out == "/");
  REQUIRE(ops::NormalisePath("p", "///a/b//", &out).ok());
  REQUIRE(out == "/a/b");
  REQUIRE(ops::NormalisePath("p", "/a/.../b", &out).ok());  // "..." is a name
  REQUIRE(out == "/a/.../b");
  REQUIRE(ops::NormalisePath("p", std::string(5000, '/') + "a", &out).code() ==
          Code::invalid_argument);
}

TEST_CASE("ops: object references carry kind and name") {
  ops::Args args;
  REQUIRE(Check("resource.offline", {{"kind", "disk"}, {"name", "k0"}}, &args).ok());
  REQUIRE(args.ObjectKind() == Kind::disk);
  REQUIRE(Check("resource.offline", {{"name", "k0"}}).message() == "missing argument 'kind'");
  REQUIRE(Check("resource.offline", {{"kind", "pool"}, {"name", "k0"}}).code() ==
          Code::invalid_argument);
}

TEST_CASE("ops: claims follow the rule of each op") {
  Catalog c;
  REQUIRE(c.AddDrive({"a", "/a.img", 1 << 20, DriveStatus::online, {}}).ok());
  REQUIRE(c.AddDrive({"b", "/b.img", 1 << 20, DriveStatus::online, {}}).ok());
  REQUIRE(c.CreateDisk("k", {"a"}).ok());
  Volume v;
  v.name = "v";
  v.disk = "k";
  v.size = 4096;
  REQUIRE(c.CreateVolume(v).ok());
  auto claims = [&](std::string_view op, const json& a) {
    ops::Args args;
    REQUIRE(Check(op, a, &args).ok());
    return ops::ClaimsOf(*ops::Find(op), args, c);
  };
  using V = std::vector<std::string>;
  REQUIRE(claims("volume.show", {{"name", "v"}}).empty());
  REQUIRE(claims("volume.offline", {{"name", "v"}}) == V{"volume/v"});
  REQUIRE(claims("disk.offline", {{"name", "k"}}) == V{"disk/k", "volume/v"});
  REQUIRE(claims("drive.set-status", {{"name", "a"}, {"status", "offline"}}) ==
          V{"disk/k", "drive/a", "volume/v"});
  REQUIRE(claims("resource.online", {{"kind", "drive"}, {"name", "a"}}) ==
          V{"disk/k", "drive/a", "volume/v"});
  REQUIRE(claims("volume.create", {{"name", "w"}, {"disk", "k"}, {"size", 4096}}) ==
          V{"volume/w", "disk/k"});
  REQUIRE(claims("refresh", json::object()) == V{"drive/a", "drive/b"});
}

TEST_CASE("ops: group members (the operator role) read and change states, nothing more") {
  // The decision, pinned: reads, and the states of existing objects. Everything that names a
  // host path (drive add, path add/remove), creates or deletes an object, or changes a policy
  // (read-only, refresh trusting a changed backing store) is root's.
  const std::set<std::string_view> operator_ops = {"drive.list",
                                                   "drive.show",
                                                   "drive.set-status",
                                                   "disk.list",
                                                   "disk.show",
                                                   "disk.offline",
                                                   "disk.online",
                                                   "volume.list",
                                                   "volume.show",
                                                   "volume.offline",
                                                   "volume.online",
                                                   "volume.dismount",
                                                   "volume.mount",
                                                   "volume.path.list",
                                                   "resource.offline",
                                                   "resource.online",
                                                   "list",
                                                   "results",
                                                   "stats",
                                                   "monitor",
                                                   "ping"};
  for (const ops::OpSpec& op : ops::All()) {
    INFO(op.name);
    CHECK(op.role == (operator_ops.count(op.name) ? ops::Role::operator_ : ops::Role::root));
    // Every read is open to operators.
    if (op.read_only) CHECK(op.role == ops::Role::operator_);
    for (const ops::ArgSpec& a : op.args)
      if (a.type == ops::ArgType::file || a.type == ops::ArgType::dir)
        CHECK(op.role == ops::Role::root);
  }
  CHECK(ops::ToString(ops::Role::operator_) == "operator");
  CHECK(ops::ToString(ops::Role::root) == "root");
}

TEST_CASE("ops: docs/control-protocol.md holds the generated tables") {
  std::ifstream in(std::string(BLKGATE_SOURCE_DIR) + "/docs/control-protocol.md");
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  INFO("regenerate with build/tools/ops-markdown [--results]");
  REQUIRE(Between(doc, "<!-- ops:begin", "<!-- ops:end -->") == ops::OpsMarkdown());
  REQUIRE(Between(doc, "<!-- results:begin", "<!-- results:end -->") == ops::ResultsMarkdown());
}
