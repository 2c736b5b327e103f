#include <catch2/catch.hpp>
#include <map>
#include <tuple>

#include "blkgate/state_store.h"

using namespace blkgate;

namespace {

// In-memory Env that can fail writes, directory syncs and the undo of a replace.
class MemEnv : public Env {
 public:
  std::map<std::string, std::string> files;
  bool fail_writes = false;
  bool fail_sync = false;
  bool fail_undo = false;  // LinkReplace and Remove fail once a sync has failed
  int syncs = 0;

  Result ReadFile(const std::string& p, std::size_t max_bytes, std::string* out) override {
    auto it = files.find(p);
    if (it == files.end()) return Result::NotFound(p);
    if (it->second.size() > max_bytes) return Result::InvalidArgument(p + " is too large");
    *out = it->second;
    return Result::Ok();
  }
  Result ReplaceFile(const std::string& p, std::string_view d) override {
    if (fail_writes) return Result::FromErrno(ENOSPC, "write " + p);
    files[p] = std::string(d);
    return Result::Ok();
  }
  Result LinkReplace(const std::string& s, const std::string& d) override {
    if (fail_undo && sync_failed_) return Result::FromErrno(EIO, "link " + s);
    auto it = files.find(s);
    if (it == files.end()) return Result::NotFound(s);
    files[d] = it->second;
    return Result::Ok();
  }
  Result Remove(const std::string& p) override {
    if (fail_undo && sync_failed_) return Result::FromErrno(EIO, "remove " + p);
    return files.erase(p) ? Result::Ok() : Result::NotFound(p);
  }
  Result SyncDir(const std::string& d) override {
    ++syncs;
    if (!fail_sync) return Result::Ok();
    sync_failed_ = true;
    return Result::FromErrno(EIO, "fsync " + d);
  }
  bool Exists(const std::string& p) override { return files.count(p) != 0; }

 private:
  bool sync_failed_ = false;
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

// A store that loaded an empty directory.
struct LoadedEmpty {
  MemEnv env;
  StateStore store{&env, "/s"};
  LoadedEmpty() {
    Catalog c;
    REQUIRE(store.Load(&c).ok());
  }
};

// ... and saved `one`; `two` is the next change.
struct SavedOnce : LoadedEmpty {
  Catalog one = sample();
  Catalog two = sample();
  SavedOnce() {
    REQUIRE(store.Save(one).ok());
    two.volume("v")->offline = true;
  }
};

}  // namespace

TEST_CASE("a missing state file loads as an empty catalog") {
  MemEnv env;
  StateStore store(&env, "/s");
  Catalog c = sample();
  REQUIRE(store.Load(&c).ok());
  REQUIRE(c.drives().empty());
}

TEST_CASE("a missing state file with a previous generation present is refused, not empty") {
  // It used to start empty, and the next save replaced state.json.prev: the state was gone.
  MemEnv env;
  env.files["/s/state.json.prev"] = sample().ToJson();
  StateStore store(&env, "/s");
  Catalog c = sample();
  c.volume("v")->offline = true;
  const Catalog before = c;
  Result r = store.Load(&c);
  REQUIRE(r.code() == Code::invalid_state);
  INFO(r.message());
  REQUIRE(r.message().find("/s/state.json is missing") != std::string::npos);
  REQUIRE(r.message().find("cp -p /s/state.json.prev /s/state.json") != std::string::npos);
  REQUIRE(r.message().find("rm /s/state.json.prev") != std::string::npos);
  REQUIRE(c == before);
  REQUIRE(store.Save(Catalog()).code() == Code::invalid_state);
  REQUIRE(env.files.count("/s/state.json") == 0);
  REQUIRE(env.files["/s/state.json.prev"] == sample().ToJson());
  // Either way out works: restored ...
  env.files["/s/state.json"] = env.files["/s/state.json.prev"];
  REQUIRE(store.Load(&c).ok());
  REQUIRE(c == sample());
  // ... or both removed on purpose.
  env.files.clear();
  REQUIRE(StateStore(&env, "/s").Load(&c).ok());
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

TEST_CASE("a failed directory fsync after the rename puts the old file back") {
  // It used to leave the new file in place while the caller kept its old catalog.
  SavedOnce f;
  auto [env, store, one, two] = std::tie(f.env, f.store, f.one, f.two);
  env.fail_sync = true;
  Result r = store.Save(two);
  REQUIRE(r.code() == Code::io_error);
  INFO(r.message());
  REQUIRE(r.message().find("fsync /s") != std::string::npos);
  REQUIRE(r.message().find("not saved, /s/state.json is back at its previous content") !=
          std::string::npos);
  REQUIRE(env.files["/s/state.json"] == one.ToJson());  // what the caller still holds
  Catalog loaded;
  REQUIRE(StateStore(&env, "/s").Load(&loaded).ok());
  REQUIRE(loaded == one);
  env.fail_sync = false;  // the next save works as usual
  REQUIRE(store.Save(two).ok());
  REQUIRE(env.files["/s/state.json"] == two.ToJson());
}

TEST_CASE("a failed directory fsync on the first save removes the new file") {
  LoadedEmpty f;
  f.env.fail_sync = true;
  REQUIRE(f.store.Save(sample()).code() == Code::io_error);
  REQUIRE(f.env.files.empty());
}

TEST_CASE("when the undo fails too, every later save is refused until a new load") {
  SavedOnce f;
  auto [env, store, one, two] = std::tie(f.env, f.store, f.one, f.two);
  Catalog c;
  env.fail_sync = env.fail_undo = true;
  Result r = store.Save(two);
  REQUIRE(r.code() == Code::io_error);
  REQUIRE(r.message().find("restart the daemon") != std::string::npos);
  env.fail_sync = env.fail_undo = false;
  Result again = store.Save(one);
  REQUIRE(again.code() == Code::invalid_state);
  REQUIRE(again.message().find("holds a change the daemon does not") != std::string::npos);
  REQUIRE(env.files["/s/state.json"] == two.ToJson());  // not written on top of
  REQUIRE(store.Load(&c).ok());                         // what a restart does
  REQUIRE(c == two);
  REQUIRE(store.Save(one).ok());
}

TEST_CASE("a state file with a null or mistyped list is corrupt, not empty") {
  for (const char* bad :
       {R"({"format":"blkgate-state","version":1,"drives":null,"disks":[],"volumes":[]})",
        R"({"format":"blkgate-state","version":1,"drives":{},"disks":[],"volumes":[]})",
        R"({"format":"blkgate-state","version":1,"drives":[],"disks":[],"volumes":[null]})"}) {
    INFO(bad);
    MemEnv env;
    env.files["/s/state.json"] = bad;
    StateStore store(&env, "/s");
    Catalog c = sample();
    Result r = store.Load(&c);
    REQUIRE(r.code() == Code::invalid_state);
    REQUIRE(r.message().find("/s/state.json is corrupt") != std::string::npos);
    REQUIRE(c == sample());
    REQUIRE(store.Save(Catalog()).code() == Code::invalid_state);
    REQUIRE(env.files["/s/state.json"] == bad);
  }
}

TEST_CASE("a state file nested past the limit or too large is corrupt") {
  MemEnv env;
  StateStore store(&env, "/s");
  Catalog c;
  env.files["/s/state.json"] =
      R"({"format":"blkgate-state","version":1,"drives":)" + std::string(200'000, '[');
  Result r = store.Load(&c);
  REQUIRE(r.code() == Code::invalid_state);
  REQUIRE(r.message().find("nested deeper than 32 levels") != std::string::npos);
  env.files["/s/state.json"] = std::string(kMaxStateBytes + 1, ' ');
  REQUIRE(store.Load(&c).code() == Code::invalid_state);
}

TEST_CASE("a failed write reports the error") {
  LoadedEmpty f;
  f.env.fail_writes = true;
  Result r = f.store.Save(sample());
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
  REQUIRE(DefaultEnv()->ReadFile(dir + "/state.json.prev", 1 << 20, &prev).ok());
  REQUIRE(prev == sample().ToJson());
  StateStore again(DefaultEnv(), dir);
  Catalog loaded;
  REQUIRE(again.Load(&loaded).ok());
  REQUIRE(loaded == two);
  unlink((dir + "/state.json").c_str());
  unlink((dir + "/state.json.prev").c_str());
  REQUIRE(rmdir(dir.c_str()) == 0);
}

TEST_CASE("a symlink planted at the temp names is never written through") {
  // state.json.tmp used to be opened O_CREAT|O_TRUNC, following a symlink to any file.
  char tmpl[] = "/tmp/blkgate-state-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  const std::string dir = tmpl;
  const std::string victim = dir + "/victim";
  REQUIRE(DefaultEnv()->ReplaceFile(victim, "precious\n").ok());
  StateStore store(DefaultEnv(), dir);
  Catalog c;
  REQUIRE(store.Load(&c).ok());
  REQUIRE(store.Save(sample()).ok());  // so that the next save links state.json.prev too
  REQUIRE(symlink(victim.c_str(), (dir + "/state.json.tmp").c_str()) == 0);
  REQUIRE(symlink(victim.c_str(), (dir + "/state.json.prev.tmp").c_str()) == 0);
  Catalog two = sample();
  two.volume("v")->offline = true;
  REQUIRE(store.Save(two).ok());
  std::string text;
  REQUIRE(DefaultEnv()->ReadFile(victim, 100, &text).ok());
  REQUIRE(text == "precious\n");
  struct stat st;
  for (const char* name : {"/state.json", "/state.json.prev"}) {
    REQUIRE(lstat((dir + name).c_str(), &st) == 0);
    REQUIRE(S_ISREG(st.st_mode));
  }
  REQUIRE(lstat((dir + "/state.json.tmp").c_str(), &st) != 0);
  REQUIRE(lstat((dir + "/state.json.prev.tmp").c_str(), &st) != 0);
  REQUIRE(DefaultEnv()->ReadFile(dir + "/state.json", 1 << 20, &text).ok());
  REQUIRE(text == two.ToJson());
  for (const char* name : {"/state.json", "/state.json.prev", "/victim"})
    REQUIRE(unlink((dir + name).c_str()) == 0);
  REQUIRE(rmdir(dir.c_str()) == 0);
}
