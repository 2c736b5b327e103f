// The daemon's dispatcher (registry lookup, validation, claims, reentrancy, stop) against the
// fake platform, and the control server's connection lifecycle on a real unix socket.
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
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
using blkgate::testing::Received;
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

TEST_CASE("dispatch: shutdown is for root only, and reports what happens to the devices") {
  Daemonless w;
  Peer member{3, 1000, 1000, ops::Role::operator_, "uid 1000 is in group ops"};
  protocol::Request r;
  r.op = "shutdown";
  r.args = {{"keep-devices", true}};
  protocol::Reply reply = w.d.Handle(member, r);
  REQUIRE(reply.result.code() == Code::permission_denied);
  REQUIRE(reply.result.message() ==
          "operation 'shutdown' needs the root role: uid 1000 is in group ops (the operator "
          "role)");
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
  o.group = ::getegid();  // so that the test is served when it does not run as root
  o.connection_priority = ThreadPriority::OfCallingThread();
  std::atomic<int> calls{0};
  ControlServer server(
      o, [&](const Peer& peer, std::string_view line, std::unique_ptr<MessageStream>*) {
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

namespace {

constexpr uid_t kNobody = 65534;
constexpr gid_t kGroup = 4242;  // the servers' group when the test runs as root

// A server whose handler answers {"uid": peer's uid, "role": peer's role} plus `pad` bytes.
// Its group is kGroup when the test runs as root (other uids connecting with that gid are
// operators), else the test's own.
struct EchoServer {
  std::string path = TempSocket("-echo");
  std::unique_ptr<ControlServer> server;
  explicit EchoServer(ControlServerOptions o, std::size_t pad = 0) {
    o.socket_path = path;
    o.group = ::geteuid() == 0 ? kGroup : ::getegid();
    o.group_name = "test";
    o.connection_priority = ThreadPriority::OfCallingThread();
    server = std::make_unique<ControlServer>(
        o, [pad](const Peer& peer, std::string_view, std::unique_ptr<MessageStream>*) {
          protocol::Reply r;
          r.data = {{"uid", peer.uid}, {"role", ops::ToString(peer.role)}};
          if (pad) r.data["pad"] = std::string(pad, 'p');
          return r;
        });
    REQUIRE(server->Start().ok());
    REQUIRE(::chmod(path.c_str(), 0666) == 0);  // so that other uids reach the server's checks
  }
};

bool Contains(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

// Restores the process's descriptor limit at scope end.
struct FdLimitGuard {
  rlimit saved{};
  FdLimitGuard() { REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0); }
  ~FdLimitGuard() { ::setrlimit(RLIMIT_NOFILE, &saved); }
};

// Takes every free descriptor below the soft limit. Returns whether dup stopped at EMFILE
// (the limit), not at some other error. Asserts nothing: see the out-of-descriptors test.
bool TakeAllFds(int like, std::vector<UniqueFd>* taken) {
  for (int fd; (fd = ::dup(like)) >= 0;) taken->emplace_back(fd);
  return errno == EMFILE;
}

double CpuSeconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

}  // namespace

TEST_CASE("control server: at most max_clients, one kept for root; root takes an idle place") {
  if (::geteuid() != 0) {
    WARN("skipped: connecting as another uid needs root");
    return;
  }
  ControlServerOptions o;
  o.max_clients = 3;
  EchoServer s(o);
  // Neither root nor in the group: refused at once, before any request, and closed.
  UniqueFd stranger = Dial(s.path, kNobody, kNobody);
  auto got = Drain(stranger.get(), std::chrono::seconds(5));
  CHECK(got.closed);
  CHECK(Contains(got.data, "\"result\":\"permission-denied\""));
  CHECK(Contains(got.data, "uid 65534 is not root nor in group test"));
  UniqueFd a = Dial(s.path, kNobody, kGroup);
  REQUIRE(Contains(RoundTrip(a.get()), "\"uid\":65534"));
  UniqueFd b = Dial(s.path, kNobody, kGroup);
  REQUIRE(Contains(RoundTrip(b.get()), "\"role\":\"operator\""));
  // The third non-root client would take root's place: refused by name, and closed.
  UniqueFd c = Dial(s.path, kNobody, kGroup);
  got = Drain(c.get(), std::chrono::seconds(5));
  CHECK(got.closed);
  CHECK(Contains(got.data, "\"result\":\"not-ready\""));
  CHECK(Contains(got.data, "too many clients"));
  // Root gets the kept place.
  std::unique_ptr<Client> r1;
  REQUIRE(Client::Connect(s.path, &r1).ok());
  json data;
  REQUIRE(r1->Call("ping", json::object(), &data).ok());
  CHECK(data["role"] == "root");
  // Every place is taken: another root client takes the place of the one idle the longest (a).
  std::unique_ptr<Client> r2;
  REQUIRE(Client::Connect(s.path, &r2).ok());
  REQUIRE(r2->Call("ping", json::object(), &data).ok());
  got = Drain(a.get(), std::chrono::seconds(5));
  CHECK(got.closed);
  CHECK(Contains(got.data, "to make room for root"));
  CHECK(Contains(RoundTrip(b.get()), "\"uid\":65534"));  // the others live on
  REQUIRE(r1->Call("ping", json::object(), &data).ok());
}

TEST_CASE("control server: a connection idle past idle_timeout is closed, an active one stays") {
  ControlServerOptions o;
  o.idle_timeout = std::chrono::milliseconds(300);
  EchoServer s(o);
  UniqueFd idle = Dial(s.path);
  UniqueFd partial = Dial(s.path);
  const std::string half = "{\"v\":1,\"op\":";  // never completed
  REQUIRE(::send(partial.get(), half.data(), half.size(), 0) == static_cast<ssize_t>(half.size()));
  std::unique_ptr<Client> active;
  REQUIRE(Client::Connect(s.path, &active).ok());
  for (int i = 0; i < 8; ++i) {  // 0.8 s of calls 0.1 s apart: each reply restarts the clock
    INFO(i);
    REQUIRE(active->Call("ping", json::object()).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  for (int fd : {idle.get(), partial.get()}) {
    const auto got = Drain(fd, std::chrono::seconds(5));
    CHECK(got.closed);
    CHECK(Contains(got.data, "no request within 0.3 s"));
  }
}

TEST_CASE("control server: a client that never reads is dropped and delays no one else") {
  ControlServerOptions o;
  o.send_timeout = std::chrono::milliseconds(500);
  EchoServer s(o, 8192);  // 8 KiB replies: the slow client's buffers fill at once
  UniqueFd slow = Dial(s.path);
  const std::string ping = "{\"v\":1,\"op\":\"ping\",\"args\":{}}\n";
  std::string many;
  for (int i = 0; i < 2000; ++i) many += ping;
  std::size_t off = 0;
  const auto t0 = std::chrono::steady_clock::now();
  while (off < many.size()) {
    const ssize_t n =
        ::send(slow.get(), many.data() + off, many.size() - off, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }
  // Another client's calls are answered at once meanwhile.
  std::unique_ptr<Client> other;
  REQUIRE(Client::Connect(s.path, &other).ok());
  for (int i = 0; i < 3; ++i) {
    const auto c0 = std::chrono::steady_clock::now();
    REQUIRE(other->Call("ping", json::object()).ok());
    CHECK(std::chrono::steady_clock::now() - c0 < std::chrono::milliseconds(400));
  }
  // The slow client is dropped (hang-up seen without reading) after the send timeout.
  pollfd p = {slow.get(), POLLRDHUP, 0};
  while (!(p.revents & (POLLHUP | POLLRDHUP)) &&
         std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10)) {
    p.revents = 0;
    ::poll(&p, 1, 50);
  }
  CHECK((p.revents & (POLLHUP | POLLRDHUP)));
  CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(450));
  REQUIRE(other->Call("ping", json::object()).ok());
}

TEST_CASE("control server: out of descriptors, accepting neither spins nor locks root out") {
  if (::geteuid() != 0) {
    WARN("skipped: connecting as another uid needs root");
    return;
  }
  ControlServerOptions o;
  o.max_clients = 100;  // far away: the descriptors run out first
  EchoServer s(o);
  std::vector<UniqueFd> users;
  for (int i = 0; i < 3; ++i) {
    users.push_back(Dial(s.path, kNobody, kGroup));
    REQUIRE(Contains(RoundTrip(users.back().get()), "\"uid\":65534"));
  }
  // Sockets made now, connected once no descriptor is left (connect needs none).
  UniqueFd root(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  UniqueFd late1(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  UniqueFd late2(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(late2.valid());
  FdLimitGuard guard;
  rlimit low = guard.saved;
  low.rlim_cur = static_cast<rlim_t>(late2.get()) + 1;
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);

  // While no descriptor is free nothing asserts: clang's UBSan checks the dynamic type of the
  // objects Catch's assertions make by probing memory through a pipe, and without a descriptor
  // it reports them as bad. What the server does is recorded here and checked once the limit
  // is restored.
  struct Seen {
    bool took_all = false;
    int root_connect = -1, late1_connect = -1, late2_connect = -1;
    std::string root_reply;
    Received evicted, refused;
    double busy_cpu = 0;
  } seen;
  std::vector<UniqueFd> filler;
  seen.took_all = TakeAllFds(late2.get(), &filler);
  // Root: accepted on the server's reserve descriptor, in the place of the oldest idle user.
  seen.root_connect = testing::ConnectAs(root.get(), s.path, 0);
  seen.root_reply = RoundTrip(root.get());
  seen.evicted = Drain(users[0].get(), std::chrono::seconds(5));
  // Not root: accepted on the reserve, told why, closed.
  seen.late1_connect = testing::ConnectAs(late1.get(), s.path, kNobody, kGroup);
  seen.refused = Drain(late1.get(), std::chrono::seconds(5));
  // No reserve left either: the server backs off instead of spinning on a pending client.
  // (The evicted connection's thread closes its descriptor when it ends: take that one too.)
  seen.took_all = TakeAllFds(late2.get(), &filler) && seen.took_all;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  seen.took_all = TakeAllFds(late2.get(), &filler) && seen.took_all;
  seen.late2_connect = testing::ConnectAs(late2.get(), s.path, kNobody, kGroup);
  const double cpu0 = CpuSeconds();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  seen.busy_cpu = CpuSeconds() - cpu0;
  // Descriptors free again (and room for more than the reserve): the pending client is served.
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &guard.saved) == 0);
  filler.clear();

  CHECK(seen.took_all);
  CHECK(seen.root_connect == 0);
  CHECK(Contains(seen.root_reply, "\"role\":\"root\""));
  CHECK(seen.evicted.closed);
  CHECK(Contains(seen.evicted.data, "to make room for root"));
  CHECK(seen.late1_connect == 0);
  CHECK(seen.refused.closed);
  CHECK(Contains(seen.refused.data, "out of file descriptors"));
  CHECK(seen.late2_connect == 0);
  CHECK(seen.busy_cpu < 0.1);  // a busy loop takes most of a core
  const std::string reply = RoundTrip(late2.get());
  INFO(reply);
  CHECK(Contains(reply, "\"uid\":65534"));
  CHECK(Contains(RoundTrip(users[1].get()), "\"uid\":65534"));
}

TEST_CASE("control server: connections leave the top eighth of the descriptors to the daemon") {
  if (::geteuid() != 0) {
    WARN("skipped: connecting as another uid needs root");
    return;
  }
  FdLimitGuard guard;
  const int next = ::dup(0);
  REQUIRE(next >= 0);
  UniqueFd probe(next);
  probe.reset();
  rlimit low = guard.saved;
  low.rlim_cur = static_cast<rlim_t>(next) + 48;  // the top 32 are kept: 16 for the server
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
  ControlServerOptions o;
  o.max_clients = 100;
  EchoServer s(o);
  std::vector<UniqueFd> held;
  int admitted = 0, refused = 0;
  for (int i = 0; i < 12; ++i) {
    held.push_back(Dial(s.path, kNobody, kGroup));
    const auto got = Drain(held.back().get(), std::chrono::milliseconds(300));
    if (!got.closed) {
      ++admitted;
      continue;
    }
    ++refused;
    CHECK(Contains(got.data, "out of file descriptors"));
  }
  CHECK(admitted >= 2);
  CHECK(admitted <= 8);  // each takes one descriptor here and one in the server
  CHECK(refused >= 4);
  // Root still gets in (in an idle place), and the kept descriptors are there to use.
  UniqueFd root = Dial(s.path);
  CHECK(Contains(RoundTrip(root.get()), "\"role\":\"root\""));
  std::vector<UniqueFd> more;
  for (int i = 0; i < 16; ++i) {
    more.emplace_back(::dup(0));
    CHECK(more.back().valid());
  }
}

TEST_CASE(
    "monitor: a subscription over the socket gets each call's events, in order, with its op") {
  Daemonless w;
  EventBus bus;
  w.ctl.SetEventSink(&bus);
  w.d.SetEventBus(&bus);
  // Without a stream connection (a plain Handle), a subscription is refused by name.
  CHECK(w.Call("monitor", json::object()).result.code() == Code::not_supported);
  const std::string path = TempSocket();
  ControlServerOptions o;
  o.socket_path = path;
  o.group = ::getegid();
  o.connection_priority = ThreadPriority::OfCallingThread();
  o.idle_timeout = std::chrono::milliseconds(300);  // a subscriber is never idle-closed
  ControlServer server(
      o, [&](const Peer& peer, std::string_view line, std::unique_ptr<MessageStream>* stream) {
        Peer as_root = peer;
        as_root.role = ops::Role::root;
        return w.d.HandleLine(as_root, line, stream);
      });
  REQUIRE(server.Start().ok());
  std::unique_ptr<Client> sub, caller;
  REQUIRE(Client::Connect(path, &sub, std::chrono::seconds(10)).ok());
  json data;
  REQUIRE(sub->Call("monitor", json::object(), &data).ok());
  CHECK(data["seq"] == 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // past the idle timeout
  REQUIRE(Client::Connect(path, &caller, std::chrono::seconds(10)).ok());
  REQUIRE(caller->Call("volume.offline", {{"name", "v"}}).ok());
  REQUIRE(caller->Call("volume.online", {{"name", "v"}}).ok());
  json e;
  REQUIRE(sub->NextEvent(&e, std::chrono::seconds(5)).ok());
  CHECK(e["type"] == "state");
  CHECK(e["name"] == "v");
  CHECK(e["old"] == "online");
  CHECK(e["new"] == "offline");
  CHECK(e["op"] == "volume.offline");
  CHECK(e["seq"] == 1);
  REQUIRE(sub->NextEvent(&e, std::chrono::seconds(5)).ok());
  CHECK(e["new"] == "online");
  CHECK(e["op"] == "volume.online");
  // Nothing else: the wait passes.
  CHECK(sub->NextEvent(&e, std::chrono::milliseconds(200)).message() == "no event within 0.2 s");
  // stats on the same server: one sample per queue of the fake's volume.
  REQUIRE(caller->Call("stats", json::object(), &data).ok());
  REQUIRE(data["volumes"].size() == 1);
  CHECK(data["volumes"][0]["name"] == "v");
  CHECK(data["volumes"][0]["running"] == true);
  CHECK(data["volumes"][0]["queues"].size() == 1);
  CHECK(caller->Call("stats", {{"name", "nope"}}).code() == Code::not_found);
  CHECK(caller->Call("stats", {{"watch", 1}}).code() == Code::invalid_argument);  // blkgatectl's
  sub.reset();
  server.Stop();
}
