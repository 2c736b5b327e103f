#include <catch2/catch.hpp>
#include <set>

#include "blkgate/result.h"

using namespace blkgate;

TEST_CASE("every result code has a distinct name and exit status that round-trip") {
  std::set<std::string_view> names;
  std::set<int> exits;
  for (int i = 0; i < kCodeCount; ++i) {
    auto c = static_cast<Code>(i);
    auto name = code_name(c);
    REQUIRE(name != "unknown");
    REQUIRE(names.insert(name).second);
    REQUIRE(exits.insert(code_exit_status(c)).second);
    auto back = code_from_name(name);
    REQUIRE(back.has_value());
    REQUIRE(*back == c);
  }
  REQUIRE(code_exit_status(Code::ok) == 0);
  REQUIRE(code_exit_status(Code::invalid_argument) == 11);
  REQUIRE(code_exit_status(Code::reentrant_call) == 27);
  REQUIRE_FALSE(code_from_name("no-such-result").has_value());
}

TEST_CASE("the names the gate issue specifies are exactly these") {
  for (const char* n :
       {"ok", "invalid-argument", "not-found", "permission-denied", "not-ready",
        "failed-to-offline-disk", "temporarily-dismounted", "permanently-dismounted",
        "not-supported", "has-access-path", "device-in-use", "cache-corrupt", "object-deleted",
        "object-failed", "another-call-in-progress", "system-volume", "invalid-state",
        "reentrant-call"})
    REQUIRE(code_from_name(n).has_value());
}

TEST_CASE("Result carries code and message") {
  Result ok;
  REQUIRE(ok.ok());
  REQUIRE(ok.ToString() == "ok");
  Result e = Result::Error(Code::not_found, "volume 'x' does not exist");
  REQUIRE_FALSE(e.ok());
  REQUIRE(e.name() == "not-found");
  REQUIRE(e.ToString() == "not-found: volume 'x' does not exist");
  Result io = Result::FromErrno(ENOENT, "open /x");
  REQUIRE(io.code() == Code::io_error);
  REQUIRE(io.message() == "open /x: No such file or directory");
}
