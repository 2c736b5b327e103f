#include <catch2/catch.hpp>

#include "blkgate/protocol.h"

using namespace blkgate;
using nlohmann::json;

TEST_CASE("requests encode to one line and decode back") {
  protocol::Request r;
  r.op = "volume.create";
  r.args = {{"name", "v0"}, {"size", 1ull << 30}, {"force", true}, {"path", "a\nb"}};
  std::string wire = protocol::Encode(r);
  REQUIRE(wire.back() == '\n');
  REQUIRE(wire.find('\n') == wire.size() - 1);
  protocol::Request back;
  REQUIRE(protocol::Decode(std::string_view(wire).substr(0, wire.size() - 1), &back).ok());
  REQUIRE(back.op == "volume.create");
  REQUIRE(back.args == r.args);
  REQUIRE(back.hook.empty());
  r.hook = "tok";
  REQUIRE(protocol::Decode(protocol::Encode(r), &back).ok());
  REQUIRE(back.hook == "tok");
}

TEST_CASE("replies carry the result name, message and data") {
  protocol::Reply r;
  r.result = Result::FailedToOfflineDisk("volume 'v1' is in use");
  r.data = {{"volume", "v1"}};
  std::string wire = protocol::Encode(r);
  REQUIRE(json::parse(wire)["result"] == "failed-to-offline-disk");
  protocol::Reply back;
  REQUIRE(protocol::Decode(wire, &back).ok());
  REQUIRE(back.result.code() == Code::failed_to_offline_disk);
  REQUIRE(back.result.message() == "volume 'v1' is in use");
  REQUIRE(back.data["volume"] == "v1");
}

TEST_CASE("malformed messages are protocol errors and leave the output alone") {
  protocol::Request req;
  req.op = "keep";
  for (const char* bad :
       {"", "nope", "[]", "{}", R"({"v":2,"op":"x"})", R"({"v":1})", R"({"v":1,"op":3})",
        R"({"v":1,"op":"x","args":[]})", R"({"v":1,"op":"x","hook":1})", R"({"v":"1","op":"x"})"}) {
    INFO(bad);
    REQUIRE(protocol::Decode(bad, &req).code() == Code::protocol_error);
    REQUIRE(req.op == "keep");
  }
  protocol::Reply rep;
  for (const char* bad :
       {R"({"v":1})", R"({"v":1,"result":"what"})", R"({"v":1,"result":"ok","data":[]})",
        R"({"v":1,"result":"ok","message":5})"}) {
    INFO(bad);
    REQUIRE(protocol::Decode(bad, &rep).code() == Code::protocol_error);
  }
  std::string huge(protocol::kMaxMessage + 1, ' ');
  REQUIRE(protocol::Decode(huge, &req).code() == Code::protocol_error);
}

TEST_CASE("the version is exactly the integer 1") {
  protocol::Request req;
  for (const char* bad : {R"({"v":4294967297,"op":"ping"})", R"({"v":1.0,"op":"ping"})",
                          R"({"v":-4294967295,"op":"ping"})", R"({"v":true,"op":"ping"})"}) {
    INFO(bad);
    REQUIRE(protocol::Decode(bad, &req).code() == Code::protocol_error);
  }
  REQUIRE(protocol::Decode(R"({"v":1,"op":"ping"})", &req).ok());
}

TEST_CASE("replies carry notes only when there are some") {
  protocol::Reply r;
  REQUIRE(protocol::Encode(r).find("notes") == std::string::npos);
  r.notes = {"volume 'v' is online, but not mounted"};
  protocol::Reply back;
  REQUIRE(protocol::Decode(protocol::Encode(r), &back).ok());
  REQUIRE(back.notes == r.notes);
  REQUIRE(protocol::Decode(R"({"v":1,"result":"ok","notes":[1]})", &back).code() ==
          Code::protocol_error);
}

namespace {

// {"v":1,"op":"ping","args":{"x":[[...]]}} with `arrays` arrays around the innermost 0: the
// message nests arrays + 2 levels (the message itself and "args").
std::string NestedRequest(std::size_t arrays) {
  return R"({"v":1,"op":"ping","args":{"x":)" + std::string(arrays, '[') + "0" +
         std::string(arrays, ']') + "}}";
}

}  // namespace

TEST_CASE("nesting is limited while parsing: 32 levels pass, 33 are a protocol error") {
  protocol::Request req;
  REQUIRE(protocol::Decode(NestedRequest(protocol::kMaxDepth - 2), &req).ok());
  REQUIRE(req.op == "ping");
  req.op = "keep";
  Result r = protocol::Decode(NestedRequest(protocol::kMaxDepth - 1), &req);
  REQUIRE(r.code() == Code::protocol_error);
  REQUIRE(r.message() == "message is nested deeper than 32 levels");
  REQUIRE(req.op == "keep");
  // Objects count as arrays do.
  std::string objects = R"({"v":1,"op":"ping","args":)";
  for (int i = 0; i < protocol::kMaxDepth; ++i) objects += R"({"a":)";
  objects += "0" + std::string(protocol::kMaxDepth + 1, '}');
  REQUIRE(protocol::Decode(objects, &req).message() == "message is nested deeper than 32 levels");
}

TEST_CASE("a request nested 1M deep is refused, not recursed into (it crashed the daemon)") {
  // Without the limit the copy of "args" recursed once per level until SIGSEGV. Balanced, a
  // line holds ~520k levels; 1M levels fit when they are never closed.
  protocol::Request req;
  for (std::size_t n : {100'000u, 520'000u}) {
    const std::string line = NestedRequest(n);
    REQUIRE(line.size() <= protocol::kMaxMessage);
    Result r = protocol::Decode(line, &req);
    REQUIRE(r.code() == Code::protocol_error);
    REQUIRE(r.message() == "message is nested deeper than 32 levels");
  }
  const std::string open_only = R"({"v":1,"op":"ping","args":{"x":)" + std::string(1'000'000, '[');
  REQUIRE(open_only.size() <= protocol::kMaxMessage);
  REQUIRE(protocol::Decode(open_only, &req).message() == "message is nested deeper than 32 levels");
  protocol::Reply rep;
  const std::string reply = R"({"v":1,"result":"ok","data":{"x":)" + std::string(500'000, '[');
  REQUIRE(protocol::Decode(reply, &rep).message() == "message is nested deeper than 32 levels");
}

TEST_CASE("size and syntax errors name the limit and the byte") {
  protocol::Request req;
  std::string huge =
      R"({"v":1,"op":"ping","args":{"x":")" + std::string(protocol::kMaxMessage, 'a') + "\"}}";
  REQUIRE(protocol::Decode(huge, &req).message() == "message is larger than 1048576 bytes");
  REQUIRE(protocol::Decode(R"({"v":1,"op":x})", &req).message() ==
          "message is not valid JSON (at byte 13)");
}

TEST_CASE("UTF-8 as JSON carries it, and nothing else") {
  for (const std::string& good :
       {std::string(""), std::string("plain /mnt/x"), std::string("caf\xC3\xA9"),
        std::string("\xE2\x82\xAC"), std::string("\xF0\x9F\x98\x80"),
        std::string("\xF4\x8F\xBF\xBF"), std::string("a\0b", 3)}) {
    INFO(good);
    REQUIRE(protocol::IsValidUtf8(good));
  }
  for (const std::string& bad : {
           std::string("\x88"),              // stray continuation byte
           std::string("ab\xC3"),            // truncated
           std::string("\xC3\x28"),          // bad continuation
           std::string("\xC0\xAF"),          // overlong '/'
           std::string("\xE0\x80\xAF"),      // overlong '/', 3 bytes
           std::string("\xED\xA0\x80"),      // surrogate U+D800
           std::string("\xF4\x90\x80\x80"),  // past U+10FFFF
           std::string("\xF8\x88\x80\x80\x80"),
       }) {
    INFO(bad);
    REQUIRE(!protocol::IsValidUtf8(bad));
    // What Encode would have to change: nlohmann refuses to dump it as it is.
    REQUIRE_THROWS(json(bad).dump());
  }
}
