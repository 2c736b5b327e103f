#include <catch2/catch.hpp>
#include <map>

#include "blkgate/state_store.h"

using namespace blkgate;

namespace {

// In-memory Env that records the order of durable operations and can fail writes.
class MemEnv : public Env {
 public:
  std::map<std::string, std::string> files;
  bool fail_writes = false;

  Result ReadFile(const std::string& p, std::string* out) override {
    auto it = files.find(p);
    if (it == files.end()) return Result::NotFound(p);
    *out = it->second;
    return Result::Ok();
  }
  Result WriteFileAtomic(const std::string& p, std::string_view d) override {
    if (fail_writes) return Result::FromErrno(ENOSPC, "write " + p);
    files[p] = std::string(d);
    return Result::Ok();
  }
  Result LinkReplace(const std::string& s, const std::string& d) override {
    auto it = files.find(s);
    if (it == files.end()) return Result::NotFound(s);
    files[d] = it->second;
    return Result::Ok();
  }
  bool Exists(const std::string& p) override { return files.count(p) != 0; }
};

Catalog sample() {
  Catalog c;
  REQUIRE(c.AddDrive({"a", "/a.img", 1 << 20, DriveStatus::online, {}}).ok());
  REQUIRE(c.CreateDisk("d", {"a"}).ok());
  Volume v;
  v.name = "v";
  v.disk = "d";
  v.size = 1 << 20;
  REQUIRE(c.CreateVolume(v).ok());
  return c;
}

}  // namespace

TEST_CASE("a missing state file loads as an empty catalog") {
  MemEnv env;
  StateStore store(&env, "/s");
  Catalog c = sample();
  REQUIRE(store.Load(&c).ok());
  REQUIRE(c.drives().empty());
}

TEST_CASE("save then load round-trips and keeps the previous generation") {
  MemEnv env;
  StateStore store(&env, "/s");
  Catalog c;
  REQUIRE(store.Load(&c).ok());
  Catalog one = sample();
  REQUIRE(store.Save(one).ok());
  REQUIRE(env.files.count("/s/state.json") == 1);
  REQUIRE(env.files.count("/s/state.json.prev") == 0);
  Catalog two = one;
  two.volume("v")->offline = true;
  REQUIRE(store.Save(two).ok());
  REQUIRE(env.files["/s/state.json.prev"] == one.ToJson());

  StateStore again(&env, "/s");
  Catalog loaded;
  REQUIRE(again.Load(&loaded).ok());
  REQUIRE(loaded == two);
  REQUIRE(loaded.volume("v")->offline);
}

TEST_CASE("a corrupt state file stops the load and is never overwritten") {
  MemEnv env;
  env.files["/s/state.json"] = "{\"format\": \"blkgate-state\", \"version\": 1, \"drives\": [";
  env.files["/s/state.json.prev"] = sample().ToJson();
  StateStore store(&env, "/s");
  Catalog c = sample();
  Result r = store.Load(&c);
  REQUIRE(r.code() == Code::invalid_state);
  REQUIRE(r.message().find("/s/state.json is corrupt") != std::string::npos);
  REQUIRE(r.message().find("state.json.prev") != std::string::npos);
  REQUIRE(c == sample());  // untouched
  Result w = store.Save(Catalog());
  REQUIRE(w.code() == Code::invalid_state);
  REQUIRE(env.files["/s/state.json"].rfind("{\"format\"", 0) == 0);
  REQUIRE(env.files["/s/state.json.prev"] == sample().ToJson());
}

TEST_CASE("a failed write reports the error") {
  MemEnv env;
  StateStore store(&env, "/s");
  Catalog c;
  REQUIRE(store.Load(&c).ok());
  env.fail_writes = true;
  Result r = store.Save(sample());
  REQUIRE(r.code() == Code::io_error);
  REQUIRE(r.message().find("No space left") != std::string::npos);
}

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

TEST_CASE("the real Env writes atomically and keeps the previous generation on disk") {
  char tmpl[] = "/tmp/blkgate-state-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  std::string dir = tmpl;
  StateStore store(DefaultEnv(), dir);
  Catalog c;
  REQUIRE(store.Load(&c).ok());
  REQUIRE(store.Save(sample()).ok());
  Catalog two = sample();
  two.volume("v")->dismount = Dismount::temporary;
  REQUIRE(store.Save(two).ok());
  struct stat st;
  REQUIRE(stat((dir + "/state.json").c_str(), &st) == 0);
  REQUIRE((st.st_mode & 0777) == 0600);
  REQUIRE(stat((dir + "/state.json.tmp").c_str(), &st) != 0);  // no temp left behind
  std::string prev;
  REQUIRE(DefaultEnv()->ReadFile(dir + "/state.json.prev", &prev).ok());
  REQUIRE(prev == sample().ToJson());
  StateStore again(DefaultEnv(), dir);
  Catalog loaded;
  REQUIRE(again.Load(&loaded).ok());
  REQUIRE(loaded == two);
  unlink((dir + "/state.json").c_str());
  unlink((dir + "/state.json.prev").c_str());
  REQUIRE(rmdir(dir.c_str()) == 0);
}
