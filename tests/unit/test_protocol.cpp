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
