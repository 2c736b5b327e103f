// The systemd side of the daemon without systemd: service_notify.h's messages reach a datagram
// socket the test binds as $NOTIFY_SOCKET; the queue heartbeats (heartbeat.h) tell a thread
// that answers its wake-ups from one that is stuck; the service watchdog (watchdog.h) pings
// while every heartbeat answers and stops, naming the queue, when one does not; the device
// names for udev (device_names.h) are written and removed.
#include <catch2/catch.hpp>

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "blkgate/mutex.h"
#include "blkgate/unique_fd.h"
#include "device_names.h"
#include "heartbeat.h"
#include "service_notify.h"
#include "watchdog.h"

using namespace blkgate;
using namespace std::chrono_literals;

namespace {

// A datagram socket bound at a fresh path, exported as NOTIFY_SOCKET while it lives.
struct NotifySocket {
  std::string path = "/tmp/blkgate-notify-" + std::to_string(::getpid()) + ".sock";
  UniqueFd fd;
  NotifySocket() {
    ::unlink(path.c_str());
    fd.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    REQUIRE(fd.valid());
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  }
  ~NotifySocket() {
    ::unsetenv("NOTIFY_SOCKET");
    ::unlink(path.c_str());
  }
  // The next message, or "" after `wait`.
  std::string Next(std::chrono::milliseconds wait = 2000ms) {
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait.count())) != 1) return "";
    char buf[4096];
    const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
  }
};

// A queue thread stand-in: polls its wake eventfd and acknowledges each ping, until told to
// stop answering (stuck) or to end.
struct FakeQueue {
  Heartbeat hb;
  UniqueFd wake{::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
  std::atomic<bool> stuck{false}, quit{false};
  std::atomic<int> answered{0};
  std::thread t;
  explicit FakeQueue(std::string name) {
    hb.name = std::move(name);
    hb.wake_fd = wake.get();
    t = std::thread([this] {
      while (!quit) {
        pollfd p{wake.get(), POLLIN, 0};
        if (::poll(&p, 1, 20) != 1) continue;
        if (stuck) {  // woken, but never answers (the eventfd stays readable)
          std::this_thread::sleep_for(10ms);
          continue;
        }
        std::uint64_t n;
        ssize_t r = ::read(wake.get(), &n, sizeof n);
        (void)r;
        hb.Acknowledge();
        ++answered;
      }
    });
  }
  ~FakeQueue() {
    quit = true;
    t.join();
  }
};

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("service::Notify sends each state to NOTIFY_SOCKET", "[service]") {
  if (!service::Supported()) {
    WARN("built without libsystemd: Notify is a no-op");
    CHECK_FALSE(service::Notify("READY=1"));
    return;
  }
  {
    NotifySocket sock;
    REQUIRE(service::Notify("READY=1\nSTATUS=serving 2 volumes (0 offline, 0 stopped)"));
    CHECK(sock.Next() == "READY=1\nSTATUS=serving 2 volumes (0 offline, 0 stopped)");
    REQUIRE(service::Notify("STOPPING=1"));
    CHECK(sock.Next() == "STOPPING=1");
  }
  // No manager: nothing sent, and no failure for the daemon.
  CHECK_FALSE(service::Notify("READY=1"));
}

TEST_CASE("WatchdogTimeout reads WATCHDOG_USEC for this process only", "[service]") {
  if (!service::Supported()) return;
  ::setenv("WATCHDOG_USEC", "4000000", 1);
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  CHECK(service::WatchdogTimeout() == 4s);
  ::setenv("WATCHDOG_PID", std::to_string(::getpid() + 1).c_str(), 1);
  CHECK(service::WatchdogTimeout() == 0s);  // meant for another process
  ::unsetenv("WATCHDOG_PID");
  ::unsetenv("WATCHDOG_USEC");
  CHECK(service::WatchdogTimeout() == 0s);
}

// Until `done` holds, at most 10 s (the host may be busy: no fixed sleep decides a check).
template <typename F>
bool WaitUntil(F done) {
  const auto end = std::chrono::steady_clock::now() + 10s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

bool Acked(const Heartbeat& hb) {
  return hb.ack.load() == hb.ping.load();
}

TEST_CASE("heartbeats: an idle queue that answers its wake-ups is alive, a stuck one is not",
          "[service]") {
  Heartbeats beats;
  FakeQueue a("ublk0-q0"), b("ublk0-q1");
  beats.Add(&a.hb);
  beats.Add(&b.hb);
  CHECK(beats.size() == 2);
  CHECK(beats.Beat().empty());  // both just added: nothing asked yet
  for (int i = 0; i < 3; ++i) {
    REQUIRE(WaitUntil([&] { return Acked(a.hb) && Acked(b.hb); }));
    CHECK(beats.Beat().empty());
  }
  CHECK(a.answered >= 3);
  REQUIRE(WaitUntil([&] { return Acked(a.hb) && Acked(b.hb); }));
  b.stuck = true;
  CHECK(beats.Beat().empty());  // both answered the last ping; this one b never answers
  REQUIRE(WaitUntil([&] { return Acked(a.hb); }));
  std::this_thread::sleep_for(100ms);
  std::vector<Heartbeats::Silent> silent = beats.Beat();
  REQUIRE(silent.size() == 1);
  CHECK(silent[0].name == "ublk0-q1");
  CHECK(silent[0].for_ms >= 100ms);
  CHECK_FALSE(Acked(b.hb));
  // It answers again once unstuck; a removed queue is no longer asked.
  b.stuck = false;
  REQUIRE(WaitUntil([&] { return Acked(a.hb) && Acked(b.hb); }));
  CHECK(beats.Beat().empty());
  beats.Remove(&b.hb);
  CHECK(beats.size() == 1);
  b.stuck = true;
  REQUIRE(WaitUntil([&] { return Acked(a.hb); }));
  CHECK(beats.Beat().empty());
  beats.Remove(&a.hb);
}

TEST_CASE("the service watchdog pings while every queue answers, and stops when one is stuck",
          "[service]") {
  Heartbeats beats;
  FakeQueue q("ublk3-q0");
  beats.Add(&q.hb);
  Mutex mu;
  std::vector<std::string> sent;  // guarded by mu
  auto count = [&](const std::string& what) {
    MutexLock lock(&mu);
    int n = 0;
    for (const auto& s : sent) n += s.find(what) != std::string::npos;
    return n;
  };
  {
    // A 1.6 s timeout: a beat every 400 ms, time enough for a busy host to wake the queue.
    ServiceWatchdog dog(&beats, 1600ms, [&](const std::string& s) {
      MutexLock lock(&mu);
      sent.push_back(s);
    });
    REQUIRE(dog.running());
    CHECK(WaitUntil([&] { return count("WATCHDOG=1") >= 3; }));
    CHECK(count("not answering") == 0);
    q.stuck = true;
    CHECK(WaitUntil([&] { return count("STATUS=queue threads not answering: ublk3-q0") >= 2; }));
    const int pings = count("WATCHDOG=1");
    std::this_thread::sleep_for(1000ms);
    CHECK(count("WATCHDOG=1") == pings);  // no ping while it is stuck
    q.stuck = false;
    CHECK(WaitUntil([&] { return count("WATCHDOG=1") > pings; }));
    CHECK(count("answers again") == 1);
  }
  beats.Remove(&q.hb);
  // No timeout asked for: no thread, nothing sent.
  ServiceWatchdog none(&beats, 0s, [&](const std::string& s) {
    MutexLock lock(&mu);
    sent.push_back("unexpected " + s);
  });
  CHECK_FALSE(none.running());
  CHECK(count("unexpected") == 0);
}

TEST_CASE("device names: a file per running device for the udev rule", "[service]") {
  char tmpl[] = "/tmp/blkgate-names.XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  const std::string root = tmpl;
  const std::string dir = root + "/run/blkgate/devices";
  const std::string sys = root + "/sys";  // no devices: the change uevent fails, logged
  DeviceNames names(dir, sys);
  REQUIRE(names.Prepare());
  struct stat st;
  REQUIRE(::stat(dir.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0755);
  names.Publish(3, "v0");
  CHECK(ReadFile(dir + "/ublkb3") == "BLKGATE_VOLUME=v0\n");
  names.Publish(3, "v1");  // the id serves another volume now
  CHECK(ReadFile(dir + "/ublkb3") == "BLKGATE_VOLUME=v1\n");
  // The uevent write reaches the device's file where it exists.
  REQUIRE(::mkdir(sys.c_str(), 0755) == 0);
  REQUIRE(::mkdir((sys + "/ublkb4").c_str(), 0755) == 0);
  { std::ofstream(sys + "/ublkb4/uevent"); }
  names.Publish(4, "data.1");
  CHECK(ReadFile(sys + "/ublkb4/uevent") == "change");
  names.Withdraw(3);
  CHECK(::access((dir + "/ublkb3").c_str(), F_OK) != 0);
  CHECK(::access((dir + "/ublkb4").c_str(), F_OK) == 0);
  names.Withdraw(3);  // twice: nothing to do
  // A directory others may write to is refused: nothing published.
  REQUIRE(::chmod(dir.c_str(), 0777) == 0);
  DeviceNames unsafe(dir, sys);
  CHECK_FALSE(unsafe.Prepare());
  unsafe.Publish(5, "v5");
  CHECK(::access((dir + "/ublkb5").c_str(), F_OK) != 0);
  DeviceNames off("", sys);
  CHECK_FALSE(off.Prepare());
  std::system(("rm -rf '" + root + "'").c_str());
}

TEST_CASE("device names: a name another daemon's running device has is not taken", "[service]") {
  char tmpl[] = "/tmp/blkgate-names.XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  const std::string root = tmpl;
  const std::string dir = root + "/devices";
  const std::string sys = root + "/sys";
  auto make_device = [&](int id) {
    REQUIRE(::mkdir((sys + "/ublkb" + std::to_string(id)).c_str(), 0755) == 0);
    std::ofstream(sys + "/ublkb" + std::to_string(id) + "/uevent");
  };
  REQUIRE(::mkdir(sys.c_str(), 0755) == 0);
  DeviceNames first(dir, sys), second(dir, sys);  // two daemons, one names dir
  REQUIRE(first.Prepare());
  REQUIRE(second.Prepare());
  make_device(7);
  make_device(8);
  CHECK(first.Publish(7, "shared"));
  CHECK(first.HolderOf("shared", 8) == 7);
  CHECK(first.HolderOf("shared", 7) == -1);  // its own file is not another holder
  CHECK(first.HolderOf("other", 8) == -1);
  // ublkb8 served "shared" before (an older file): refused, and the old file goes, so udev
  // (asked again) drops its link instead of handing /dev/blkgate/shared to ublkb8.
  { std::ofstream(dir + "/ublkb8") << "BLKGATE_VOLUME=shared\n"; }
  std::ofstream(sys + "/ublkb8/uevent", std::ios::trunc).close();
  CHECK_FALSE(second.Publish(8, "shared"));
  CHECK(::access((dir + "/ublkb8").c_str(), F_OK) != 0);
  CHECK(ReadFile(sys + "/ublkb8/uevent") == "change");
  CHECK(ReadFile(dir + "/ublkb7") == "BLKGATE_VOLUME=shared\n");  // the first keeps it
  // A temp file or a file not named ublkbN is no holder, nor is a file whose device is gone
  // (a daemon that crashed before removing it).
  { std::ofstream(dir + "/ublkb9.tmp") << "BLKGATE_VOLUME=x\n"; }
  { std::ofstream(dir + "/ublkbz") << "BLKGATE_VOLUME=x\n"; }
  { std::ofstream(dir + "/ublkb11") << "BLKGATE_VOLUME=x\n"; }  // no ublkb11 in sys
  make_device(9);
  CHECK(second.HolderOf("x", 9) == -1);
  CHECK(second.Publish(9, "x"));
  // The holder's device goes away: the name is free for the other daemon's volume.
  REQUIRE(std::system(("rm -rf '" + sys + "/ublkb7'").c_str()) == 0);
  CHECK(second.HolderOf("shared", 8) == -1);
  CHECK(second.Publish(8, "shared"));
  CHECK(ReadFile(dir + "/ublkb8") == "BLKGATE_VOLUME=shared\n");
  std::system(("rm -rf '" + root + "'").c_str());
}
