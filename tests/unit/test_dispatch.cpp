// The daemon's dispatcher (registry lookup, validation, claims, reentrancy, stop) against the
// fake platform, and the control server's connection lifecycle on a real unix socket.
#include <sys/socket.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstring>
#include <future>
#include <thread>

#include "blkgate/client.h"
#include "blkgate/unique_fd.h"
#include "control_server.h"
#include "dispatch.h"
#include "fake_platform.h"
#include "unix_socket.h"

using namespace blkgate;
using blkgate::testing::Dial;
using blkgate::testing::Drain;
using blkgate::testing::FakePlatform;
using blkgate::testing::RoundTrip;
using blkgate::testing::TempSocket;
using nlohmann::json;

namespace {

constexpr std::uint64_t MiB = 1ull << 20;

struct Daemonless {
  FakePlatform p;
  Catalog c;
  Controller ctl{&p, &c};
  HookTokens tokens;
  Dispatcher d{&ctl, &tokens};
  Peer root{1, 0, 0, ops::Role::root, "uid 0 is root"};
  Daemonless() {
    p.files["/a.img"] = {DriveIdentity{1, 10, false}, 16 * MiB};
    d.Locked([](Controller& ctl) {
      REQUIRE(ctl.DriveAdd("a", "/a.img", std::nullopt).ok());
      REQUIRE(ctl.DiskCreate("k", {"a"}).ok());
      Volume v;
      v.name = "v";
      v.disk = "k";
      v.size = 4 * MiB;
      REQUIRE(ctl.VolumeCreate(v, true).ok());
    });
  }
  protocol::Reply Call(const std::string& op, const json& args, const std::string& hook = {}) {
    return CallAs(root, op, args, hook);
  }
  protocol::Reply CallAs(const Peer& peer, const std::string& op, const json& args,
                         const std::string& hook = {}) {
    protocol::Request r;
    r.op = op;
    r.args = args;
    r.hook = hook;
    return d.Handle(peer, r);
  }
};

}  // namespace

TEST_CASE("dispatch: unknown, local and badly argued ops are refused by name") {
  Daemonless w;
  REQUIRE(w.Call("volume.frob", json::object()).result.message() ==
          "unknown operation 'volume.frob'");
  REQUIRE(w.Call("results", json::object()).result.code() == Code::invalid_argument);
  protocol::Reply r = w.Call("volume.offline", {{"name", "v"}, {"x", 1}});
  REQUIRE(r.result.code() == Code::invalid_argument);
  REQUIRE(w.c.volume("v")->offline == false);
  r = w.Call("volume.show", {{"name", "v"}});
  REQUIRE(r.result.ok());
  REQUIRE(r.data["device"] == "/dev/ublkb0");
  REQUIRE(w.Call("volume.show", {{"name", "nope"}}).result.code() == Code::not_found);
}

TEST_CASE("dispatch: permission and malformed lines") {
  Daemonless w;
  Peer stranger{2, 1000, 1000, ops::Role::none, "uid 1000 is not root"};
  REQUIRE(w.d.HandleLine(stranger, R"({"v":1,"op":"list"})").result.code() ==
          Code::permission_denied);
  REQUIRE(w.d.HandleLine(w.root, "{nope").result.code() == Code::protocol_error);
  REQUIRE(w.d.HandleLine(w.root, R"({"v":1,"op":"list"})").result.ok());
}

TEST_CASE("dispatch: a call from inside a running hook is reentrant-call") {
  Daemonless w;
  w.tokens.Add("tok", "pre-offline hook /h of volume/v");
  protocol::Reply r = w.Call("list", json::object(), "tok");
  REQUIRE(r.result.code() == Code::reentrant_call);
  w.tokens.Remove("tok");
  REQUIRE(w.Call("list", json::object(), "tok").result.ok());
}

TEST_CASE("dispatch: a claimed object refuses a second call at once; notes reach the reply") {
  Daemonless w;
  std::promise<void> entered, release;
  std::shared_future<void> go = release.get_future().share();
  w.p.on_hook = [&](const std::string& what) {
    if (what == "pre-offline volume/v") {
      entered.set_value();
      go.wait();
    }
  };
  auto first = std::async(std::launch::async, [&] {
    return w.Call("volume.offline", {{"name", "v"}});
  });
  entered.get_future().wait();
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(w.Call("volume.online", {{"name", "v"}}).result.code() == Code::another_call_in_progress);
  REQUIRE(w.Call("disk.offline", {{"name", "k"}}).result.code() == Code::another_call_in_progress);
  REQUIRE(w.Call("resource.online", {{"kind", "volume"}, {"name", "v"}}).result.code() ==
          Code::invalid_state);
  REQUIRE(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));  // never queued
  release.set_value();
  REQUIRE(first.get().result.ok());
  REQUIRE(w.c.volume("v")->offline);
  w.p.on_hook = nullptr;
  // The claims are gone with the call.
  REQUIRE(w.Call("volume.online", {{"name", "v"}}).result.ok());
}

TEST_CASE("dispatch: the operator role reads and changes states; root's operations refused") {
  Daemonless w;
  REQUIRE(w.Call("volume.path.add", {{"name", "v"}, {"path", "/mnt/a"}}).result.ok());
  const Peer op{3, 65534, 4242, ops::Role::operator_, "uid 65534 is in group ops"};
  const std::vector<std::pair<std::string, json>> allowed = {
      {"list", json::object()},
      {"ping", json::object()},
      {"drive.show", {{"name", "a"}}},
      {"volume.path.list", {{"name", "v"}}},
      {"volume.dismount", {{"name", "v"}}},
      {"volume.mount", {{"name", "v"}}},
      {"volume.offline", {{"name", "v"}}},
      {"volume.online", {{"name", "v"}}},
      {"disk.offline", {{"name", "k"}}},
      {"disk.online", {{"name", "k"}}},
      {"resource.offline", {{"kind", "drive"}, {"name", "a"}}},
      {"resource.online", {{"kind", "drive"}, {"name", "a"}}},
      {"drive.set-status", {{"name", "a"}, {"status", "offline"}}},
      {"drive.set-status", {{"name", "a"}, {"status", "online"}}},
  };
  for (const auto& [name, args] : allowed) {
    INFO(name << " " << args.dump());
    CHECK(w.CallAs(op, name, args).result.ok());
  }
  const json before = w.Call("list", json::object()).data;
  w.p.files["/root/secret.img"] = {DriveIdentity{1, 99, false}, 16 * MiB};
  const std::vector<std::pair<std::string, json>> refused = {
      {"drive.add", {{"name", "s"}, {"path", "/root/secret.img"}}},
      {"drive.remove", {{"name", "a"}}},
      {"disk.create", {{"name", "k2"}, {"drives", {"a"}}}},
      {"disk.delete", {{"name", "k"}}},
      {"disk.set-readonly", {{"name", "k"}, {"read_only", true}}},
      {"volume.create", {{"name", "v2"}, {"disk", "k"}, {"size", 1 * MiB}}},
      {"volume.delete", {{"name", "v"}}},
      {"volume.path.add", {{"name", "v"}, {"path", "/mnt/b"}}},
      {"volume.path.remove", {{"name", "v"}, {"path", "/mnt/a"}}},
      {"refresh", json::object()},
  };
  const std::size_t effects = w.p.log.size();
  for (const auto& [name, args] : refused) {
    INFO(name);
    const Result r = w.CallAs(op, name, args).result;
    CHECK(r.code() == Code::permission_denied);
    CHECK(r.message() ==
          "operation '" + name +
              "' needs the root role: uid 65534 is in group ops (the operator role)");
  }
  CHECK(w.p.log.size() == effects);  // not one effect on the world
  CHECK(w.Call("list", json::object()).data == before);
  CHECK(w.c.drive("s") == nullptr);
  // The same calls from root go through (the role is the only difference).
  CHECK(w.Call("drive.add", {{"name", "s"}, {"path", "/root/secret.img"}}).result.ok());
}

TEST_CASE("dispatch: after Stop every call is not-ready and changes nothing") {
  Daemonless w;
  w.d.Stop();
  REQUIRE(w.Call("volume.offline", {{"name", "v"}}).result.code() == Code::not_ready);
  REQUIRE_FALSE(w.c.volume("v")->offline);
}

TEST_CASE("control server: calls, an over-long line answered before the close, Stop joins idle") {
  const std::string path = TempSocket();
  ControlServerOptions o;
  o.socket_path = path;
  o.connection_priority = ThreadPriority::OfCallingThread();
  std::atomic<int> calls{0};
  ControlServer server(o, [&](const Peer& peer, std::string_view line) {
    ++calls;
    protocol::Reply r;
    r.data = {{"uid", peer.uid}, {"len", line.size()}};
    return r;
  });
  REQUIRE(server.Start().ok());

  std::unique_ptr<Client> c;
  REQUIRE(Client::Connect(path, &c).ok());
  json data;
  REQUIRE(c->Call("anything", json::object(), &data).ok());
  REQUIRE(data["uid"] == ::getuid());
  REQUIRE(c->Call("again", json::object(), &data).ok());  // many calls on one connection
  REQUIRE(calls == 2);

  UniqueFd big = Dial(path);
  const std::string junk(protocol::kMaxMessage + 100000, 'x');
  std::size_t off = 0;
  while (off < junk.size()) {
    ssize_t n = ::send(big.get(), junk.data() + off, junk.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }
  std::string reply;
  char buf[4096];
  for (ssize_t n; (n = ::recv(big.get(), buf, sizeof buf, 0)) > 0;)
    reply.append(buf, static_cast<std::size_t>(n));
  REQUIRE(reply.find("\"result\":\"protocol-error\"") != std::string::npos);
  REQUIRE(calls == 2);

  UniqueFd idle = Dial(path);  // connected, never sends: Stop must not wait for it
  const auto t0 = std::chrono::steady_clock::now();
  server.Stop();
  REQUIRE(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
  REQUIRE(::access(path.c_str(), F_OK) != 0);  // the socket file is gone
  char b;
  REQUIRE(::recv(idle.get(), &b, 1, 0) <= 0);  // closed (EOF, or reset if never accepted)
}
