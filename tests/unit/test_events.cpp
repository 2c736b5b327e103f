// State-change events: what the Controller publishes at each commit (against the fake
// platform), their JSON, the bus's fan-out, its backlog and its lost notice, and blkgatectl's
// line for each.
#include <sys/eventfd.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "blkgate/controller.h"
#include "blkgate/events.h"
#include "blkgate/protocol.h"
#include "event_bus.h"
#include "fake_platform.h"
#include "live.h"

using namespace blkgate;
using blkgate::testing::FakePlatform;

namespace {

constexpr std::uint64_t MiB = 1ull << 20;

struct Recorder : EventSink {
  std::vector<Event> events;
  void Publish(Event e) override { events.push_back(std::move(e)); }
  // "kind/name old->new cause op" of each event, for compact checks.
  std::vector<std::string> Lines() const {
    std::vector<std::string> out;
    for (const Event& e : events)
      out.push_back(e.kind + "/" + e.name + " " + e.old_state + "->" + e.new_state + " " +
                    std::string(ToString(e.cause)) + (e.op.empty() ? "" : " " + e.op));
    return out;
  }
};

struct World {
  FakePlatform p;
  Catalog c;
  Controller ctl{&p, &c};
  Recorder rec;
  World() {
    p.files["/a.img"] = {DriveIdentity{1, 10, false}, 8 * MiB};
    REQUIRE(c.AddDrive({"a", "/a.img", 8 * MiB, DriveStatus::online, {1, 10, false}}).ok());
    REQUIRE(c.CreateDisk("d", {"a"}).ok());
    Volume v;
    v.name = "v";
    v.disk = "d";
    v.size = 4 * MiB;
    REQUIRE(c.CreateVolume(v).ok());
    ctl.SetEventSink(&rec);
  }
};

}  // namespace

TEST_CASE("events: an offline/online pair, each with its call, in order") {
  World w;
  w.ctl.SetEventCause(EventCause::call, "volume.offline");
  REQUIRE(w.ctl.VolumeOffline("v", false).ok());
  w.ctl.SetEventCause(EventCause::call, "volume.online");
  REQUIRE(w.ctl.VolumeOnline("v").ok());
  CHECK(w.rec.Lines() == std::vector<std::string>{"volume/v online->offline call volume.offline",
                                                  "volume/v offline->online call volume.online"});
  // Idempotent calls change nothing, so they publish nothing.
  REQUIRE(w.ctl.VolumeOnline("v").ok());
  CHECK(w.rec.events.size() == 2);
}

TEST_CASE("events: a disk offline reports the disk and each of its volumes") {
  World w;
  w.ctl.SetEventCause(EventCause::call, "disk.offline");
  REQUIRE(w.ctl.DiskOffline("d", false).ok());
  CHECK(w.rec.Lines() == std::vector<std::string>{"disk/d online->offline call disk.offline",
                                                  "volume/v online->offline call disk.offline"});
}

TEST_CASE("events: a backend error fails the drive, and its disk and volume with it") {
  World w;
  w.ctl.SetEventCause(EventCause::backend_error);
  REQUIRE(w.ctl.DriveFailed("a").ok());
  CHECK(w.rec.Lines() == std::vector<std::string>{"disk/d online->failed backend-error",
                                                  "drive/a online->failed backend-error",
                                                  "volume/v online->failed backend-error"});
}

TEST_CASE("events: a drive offline reports its disk and volume going offline, and back") {
  World w;
  w.ctl.SetEventCause(EventCause::call, "drive.set-status");
  REQUIRE(w.ctl.DriveSetStatus("a", "offline").ok());
  REQUIRE(w.ctl.DriveSetStatus("a", "online").ok());
  CHECK(w.rec.Lines() ==
        std::vector<std::string>{"disk/d online->offline call drive.set-status",
                                 "drive/a online->offline call drive.set-status",
                                 "volume/v online->offline call drive.set-status",
                                 "disk/d offline->online call drive.set-status",
                                 "drive/a offline->online call drive.set-status",
                                 "volume/v offline->online call drive.set-status"});
}

TEST_CASE("events: a hook's veto is an event that changes nothing") {
  World w;
  w.p.veto = "pre-offline volume/v";
  w.ctl.SetEventCause(EventCause::call, "volume.offline");
  REQUIRE(w.ctl.VolumeOffline("v", false).code() == Code::device_in_use);
  REQUIRE(w.rec.events.size() == 1);
  const Event& e = w.rec.events[0];
  CHECK(w.rec.Lines()[0] == "volume/v online->online hook-veto volume.offline");
  CHECK(e.wanted == "offline");
  CHECK(e.detail.find("hook 'x' exited 1") != std::string::npos);
}

TEST_CASE("events: objects created and deleted go from and to absent") {
  World w;
  w.ctl.SetEventCause(EventCause::call, "drive.add");
  w.p.files["/b.img"] = {DriveIdentity{1, 11, false}, 8 * MiB};
  REQUIRE(w.ctl.DriveAdd("b", "/b.img", std::nullopt).ok());
  w.ctl.SetEventCause(EventCause::call, "drive.remove");
  REQUIRE(w.ctl.DriveRemove("b").ok());
  CHECK(w.rec.Lines() == std::vector<std::string>{"drive/b absent->online call drive.add",
                                                  "drive/b online->absent call drive.remove"});
}

TEST_CASE("events: the start reports every object it restored, with its device") {
  World w;
  w.p.recovered.insert("v");
  std::vector<std::string> notes;
  w.ctl.Restore(&notes);
  REQUIRE(w.rec.events.size() == 3);
  for (const Event& e : w.rec.events) {
    CHECK(e.cause == EventCause::recovery);
    CHECK(e.old_state == "unknown");
    CHECK(e.new_state == "online");
  }
  CHECK(w.rec.events[2].kind == "volume");
  CHECK(w.rec.events[2].detail == "device /dev/ublkb0 recovered");
}

TEST_CASE("events: no sink, no events (and no catalog copies)") {
  World w;
  w.ctl.SetEventSink(nullptr);
  REQUIRE(w.ctl.VolumeOffline("v", false).ok());
  CHECK(w.rec.events.empty());
}

TEST_CASE("events: JSON round trip, and every message is one protocol line") {
  Event e;
  e.seq = 7;
  e.time_ms = 1764754200123;
  e.kind = "volume";
  e.name = "v0";
  e.old_state = "online";
  e.new_state = "offline";
  e.cause = EventCause::hook_veto;
  e.op = "volume.offline";
  e.wanted = "offline";
  e.detail = "device-in-use: pre-offline hook refused: 10-x exited 1";
  Event back;
  REQUIRE(FromJson(ToJson(e), &back).ok());
  CHECK(ToJson(back) == ToJson(e));
  const std::string line = protocol::EncodeEvent(ToJson(e));
  CHECK(line.back() == '\n');
  CHECK(line.find('\n') == line.size() - 1);
  nlohmann::json got;
  REQUIRE(protocol::DecodeEvent(line.substr(0, line.size() - 1), &got).ok());
  CHECK(got == ToJson(e));
  CHECK(protocol::DecodeEvent(R"({"v":1,"result":"ok"})", &got).code() == Code::protocol_error);
  CHECK_FALSE(FromJson(nlohmann::json{{"type", "state"}}, &back).ok());
  CHECK(ctl::EventLine(ToJson(e), false) ==
        "2025-12-03T09:30:00.123Z volume/v0 online -> offline (hook-veto volume.offline: refused "
        "offline: device-in-use: pre-offline hook refused: 10-x exited 1)\n");
  CHECK(ctl::EventLine(LostNotice(12, 345), false) ==
        "lost 12 events (through #345): blkgatectl did not read them in time\n");
  CHECK(ctl::EventLine(ToJson(e), true) == ToJson(e).dump() + "\n");
}

namespace {

Event Ev(const std::string& name) {
  Event e;
  e.kind = "volume";
  e.name = name;
  e.old_state = "online";
  e.new_state = "offline";
  return e;
}

// The event objects of a stream's wire text.
std::vector<nlohmann::json> Messages(const std::string& wire) {
  std::vector<nlohmann::json> out;
  for (std::size_t i = 0, nl; (nl = wire.find('\n', i)) != std::string::npos; i = nl + 1) {
    nlohmann::json e;
    REQUIRE(protocol::DecodeEvent(wire.substr(i, nl - i), &e).ok());
    out.push_back(e);
  }
  return out;
}

bool Readable(int fd) {
  std::uint64_t n;
  return ::read(fd, &n, sizeof n) == sizeof n;  // the eventfd is non-blocking
}

}  // namespace

TEST_CASE(
    "event bus: each subscriber gets every event in order, numbered; replay gives the backlog") {
  EventBus bus;
  bus.Publish(Ev("early"));
  std::uint64_t seq = 0;
  auto live = bus.Subscribe(false, &seq);
  REQUIRE(live);
  CHECK(seq == 2);
  auto replay = bus.Subscribe(true, &seq);
  bus.Publish(Ev("a"));
  bus.Publish(Ev("b"));
  std::string wire;
  REQUIRE(live->Take(&wire));
  auto got = Messages(wire);
  REQUIRE(got.size() == 2);
  CHECK(got[0]["name"] == "a");
  CHECK(got[0]["seq"] == 2);
  CHECK(got[1]["seq"] == 3);
  wire.clear();
  REQUIRE(replay->Take(&wire));
  got = Messages(wire);
  REQUIRE(got.size() == 3);
  CHECK(got[0]["name"] == "early");
  CHECK(bus.published() == 3);
}

TEST_CASE("event bus: a subscriber that does not read loses events, counted, and never blocks") {
  EventBus bus;
  std::uint64_t seq = 0;
  auto slow = bus.Subscribe(false, &seq);
  auto other = bus.Subscribe(false, &seq);
  const std::size_t n = EventBus::kQueueLimit + 10;
  for (std::size_t i = 0; i < n; ++i) bus.Publish(Ev("v" + std::to_string(i)));
  CHECK(bus.lost() == 20);  // 10 for each: neither read in time
  REQUIRE(Readable(slow->wake_fd()));
  std::string wire;
  slow->Take(&wire);
  auto got = Messages(wire);
  REQUIRE(got.size() == EventBus::kQueueLimit + 1);
  CHECK(got.back()["type"] == "lost");
  CHECK(got.back()["count"] == 10);
  CHECK(got.back()["seq"] == n);
  // After the notice it gets events again (the other one, still not reading, loses this one).
  bus.Publish(Ev("after"));
  CHECK(bus.lost() == 21);
  wire.clear();
  slow->Take(&wire);
  got = Messages(wire);
  REQUIRE(got.size() == 1);
  CHECK(got[0]["name"] == "after");
  // A subscription that ends is forgotten.
  slow.reset();
  other.reset();
  bus.Publish(Ev("nobody"));
  CHECK(bus.lost() == 21);
}

TEST_CASE("event bus: a publisher and a subscriber on two threads (TSan: [mutex])", "[mutex]") {
  EventBus bus;
  std::uint64_t seq = 0;
  auto sub = bus.Subscribe(false, &seq);
  constexpr std::uint64_t kEvents = 5000;
  std::thread publisher([&] {
    for (std::uint64_t i = 0; i < kEvents; ++i) bus.Publish(Ev("v"));
  });
  std::uint64_t got = 0, lost = 0, last = 0;
  while (got + lost < kEvents) {
    std::string wire;
    sub->Take(&wire);
    for (const nlohmann::json& m : Messages(wire)) {
      if (m["type"] == "lost") {
        lost += m["count"].get<std::uint64_t>();
        last = m["seq"].get<std::uint64_t>();
        continue;
      }
      REQUIRE(m["seq"].get<std::uint64_t>() > last);  // in order, never twice
      last = m["seq"].get<std::uint64_t>();
      ++got;
    }
  }
  publisher.join();
  CHECK(got + lost == kEvents);
  CHECK(bus.lost() == lost);
}
