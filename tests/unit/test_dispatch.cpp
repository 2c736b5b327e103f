// The daemon's dispatcher (registry lookup, validation, claims, reentrancy, stop) against the
// fake platform, and the control server's connection lifecycle on a real unix socket.
#include <sys/socket.h>
#include <sys/un.h>
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

using namespace blkgate;
using blkgate::testing::FakePlatform;
using nlohmann::json;

namespace {

constexpr std::uint64_t MiB = 1ull << 20;

struct Daemonless {
  FakePlatform p;
  Catalog c;
  Controller ctl{&p, &c};
  HookTokens tokens;
  Dispatcher d{&ctl, &tokens};
  Peer root{1, 0, 0, true, {}};
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
    protocol::Request r;
    r.op = op;
    r.args = args;
    r.hook = hook;
    return d.Handle(root, r);
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

TEST_CASE("dispatch: shutdown is for root only, and reports what happens to the devices") {
  Daemonless w;
  Peer member{3, 1000, 1000, true, {}};  // a --group member: may call everything else
  protocol::Request r;
  r.op = "shutdown";
  r.args = {{"keep-devices", true}};
  protocol::Reply reply = w.d.Handle(member, r);
  REQUIRE(reply.result.code() == Code::permission_denied);
  REQUIRE(reply.result.message() == "'shutdown' is for root only");
  REQUIRE(w.p.shutdowns.empty());
  r.op = "list";
  REQUIRE(w.d.Handle(member, r).result.code() == Code::invalid_argument);  // unknown argument
  reply = w.Call("shutdown", {{"keep-devices", true}});
  REQUIRE(reply.result.ok());
  REQUIRE(reply.data["devices"] == "kept");
  REQUIRE(reply.data["pid"] == ::getpid());
  REQUIRE(w.p.shutdowns == std::vector<bool>{true});
  REQUIRE(w.Call("shutdown", json::object()).data["devices"] == "stopped");
  REQUIRE(w.p.shutdowns == std::vector<bool>{true, false});
}

TEST_CASE("dispatch: permission and malformed lines") {
  Daemonless w;
  Peer stranger{2, 1000, 1000, false, "uid 1000 is not root"};
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

TEST_CASE("dispatch: after Stop every call is not-ready and changes nothing") {
  Daemonless w;
  w.d.Stop();
  REQUIRE(w.Call("volume.offline", {{"name", "v"}}).result.code() == Code::not_ready);
  REQUIRE_FALSE(w.c.volume("v")->offline);
}

namespace {

std::string TempSocket() {
  return "/tmp/blkgate-test-" + std::to_string(::getpid()) + ".sock";
}

// Connects a raw client socket.
UniqueFd Dial(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, path.c_str());
  REQUIRE(::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  return fd;
}

}  // namespace

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
