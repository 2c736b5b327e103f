#include <catch2/catch.hpp>
#include <set>

#include "blkgate/result.h"

using namespace blkgate;

TEST_CASE("every result code has a distinct name and exit status that round-trip") {
  std::set<std::string_view> names;
  std::set<int> exits;
  for (int i = 0; i < kCodeCount; ++i) {
    auto c = static_cast<Code>(i);
    auto name = CodeName(c);
    REQUIRE(name != "unknown");
    REQUIRE(names.insert(name).second);
    REQUIRE(exits.insert(CodeExitStatus(c)).second);
    auto back = CodeFromName(name);
    REQUIRE(back.has_value());
    REQUIRE(*back == c);
  }
  REQUIRE(CodeExitStatus(Code::ok) == 0);
  REQUIRE(CodeExitStatus(Code::invalid_argument) == 11);
  REQUIRE(CodeExitStatus(Code::reentrant_call) == 27);
  REQUIRE_FALSE(CodeFromName("no-such-result").has_value());
}

TEST_CASE("the names the gate issue specifies are exactly these") {
  for (const char* n :
       {"ok", "invalid-argument", "not-found", "permission-denied", "not-ready",
        "failed-to-offline-disk", "temporarily-dismounted", "permanently-dismounted",
        "not-supported", "has-access-path", "device-in-use", "cache-corrupt", "object-deleted",
        "object-failed", "another-call-in-progress", "system-volume", "invalid-state",
        "reentrant-call"})
    REQUIRE(CodeFromName(n).has_value());
}

TEST_CASE("Result carries code and message") {
  Result ok;
  REQUIRE(ok.ok());
  REQUIRE(ok.ToString() == "ok");
  Result e = Result::NotFound("volume 'x' does not exist");
  REQUIRE_FALSE(e.ok());
  REQUIRE(e.name() == "not-found");
  REQUIRE(e.ToString() == "not-found: volume 'x' does not exist");
  Result io = Result::FromErrno(EIO, "read /x");
  REQUIRE(io.code() == Code::io_error);
  REQUIRE(io.message() == "read /x: Input/output error");
}

TEST_CASE("errno values map to codes in one place") {
  REQUIRE(Result::FromErrno(ENOENT, "open /x").code() == Code::not_found);
  REQUIRE(Result::FromErrno(ENOENT, "open /x").message() == "open /x: No such file or directory");
  REQUIRE(Result::FromErrno(EBUSY, "umount /m").code() == Code::device_in_use);
  REQUIRE(Result::FromErrno(EACCES, "open /x").code() == Code::permission_denied);
  REQUIRE(Result::FromErrno(EPERM, "mount").code() == Code::permission_denied);
  REQUIRE(Result::FromErrno(EEXIST, "create /x").code() == Code::already_exists);
  REQUIRE(Result::FromErrno(ENOSPC, "write").code() == Code::io_error);
}

TEST_CASE("named constructors, Missing and Prefixed") {
  REQUIRE(Result::DeviceInUse("busy").code() == Code::device_in_use);
  REQUIRE(Result::Missing("volume", "v0").ToString() == "not-found: volume 'v0' does not exist");
  REQUIRE(Result::NotReady("x").Prefixed("volume 'v0'").message() == "volume 'v0': x");
  REQUIRE(Result::Ok().Prefixed("p").ok());
  for (int i = 0; i < kCodeCount; ++i) {
    const Code c = static_cast<Code>(i);
    REQUIRE(CodeFromName(CodeName(c)) == c);
    REQUIRE_FALSE(CodeMeaning(c).empty());
  }
}
