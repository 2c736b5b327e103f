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
  r.result = Result::Error(Code::failed_to_offline_disk, "volume 'v1' is in use");
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

TEST_CASE("typed argument access names the field") {
  json a = {{"name", "v"}, {"size", 4096}, {"neg", -1}, {"force", true}, {"s", 3}};
  std::string s;
  std::uint64_t n = 7;
  bool b = false;
  REQUIRE(protocol::GetString(a, "name", &s).ok());
  REQUIRE(s == "v");
  Result m = protocol::GetString(a, "disk", &s);
  REQUIRE(m.code() == Code::invalid_argument);
  REQUIRE(m.message() == "missing argument 'disk'");
  REQUIRE(protocol::GetString(a, "s", &s).code() == Code::invalid_argument);
  REQUIRE(protocol::GetU64(a, "size", &n).ok());
  REQUIRE(n == 4096);
  REQUIRE(protocol::GetU64(a, "neg", &n).code() == Code::invalid_argument);
  REQUIRE(protocol::GetU64(a, "name", &n).code() == Code::invalid_argument);
  REQUIRE(n == 4096);
  REQUIRE(protocol::GetOptU64(a, "absent", &n).ok());
  REQUIRE(n == 4096);
  REQUIRE(protocol::GetOptBool(a, "force", &b).ok());
  REQUIRE(b);
  REQUIRE(protocol::GetOptBool(a, "name", &b).code() == Code::invalid_argument);
  std::string keep = "k";
  REQUIRE(protocol::GetOptString(a, "absent", &keep).ok());
  REQUIRE(keep == "k");
}
