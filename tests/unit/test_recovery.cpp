// tests/unit/test_recovery.cpp — the decisions of ublk user recovery (gate/recovery_plan.h):
// which flags a device gets, what a start does with the device at a volume's old id (recover,
// create, replace, leave alone), and which leftover devices it deletes.
#include <catch2/catch.hpp>

#include "recovery_plan.h"
#include "ublk_abi.h"

namespace blkgate {
namespace {

constexpr std::uint64_t kRecovery = ublk::kFeatUserRecovery;
constexpr std::uint64_t kReissue = ublk::kFeatUserRecoveryReissue;
constexpr std::uint64_t kFailIo = ublk::kFeatUserRecoveryFailIo;
// GET_FEATURES of Debian 12's 6.12 kernel (no FAIL_IO) and of a 6.13+ one.
constexpr std::uint64_t k612 = 0x1fe;  // bits 1..8
constexpr std::uint64_t k613 = k612 | kFailIo;

const std::uint64_t kOurs = OwnerTag("/var/lib/blkgate");

WantedDevice Want() {
  WantedDevice w;
  w.size = 64 << 20;
  w.queues = 2;
  w.depth = 128;
  w.logical_block = 512;
  w.owner = kOurs;
  return w;
}

// A device of ours, quiesced after its server died, matching Want().
FoundDevice Left() {
  FoundDevice d;
  d.dev_id = 3;
  d.state = ublk::kDevQuiesced;
  d.server_pid = 4242;
  d.server_alive = false;
  d.flags = kRecovery | kReissue | ublk::kFeatCmdIoctlEncode;
  d.owner = kOurs;
  d.queues = 2;
  d.depth = 128;
  d.size = 64 << 20;
  d.logical_block = 512;
  return d;
}

DeviceAction Plan(const FoundDevice& d) {
  return PlanVolumeDevice(&d, Want()).action;
}

}  // namespace

TEST_CASE("recovery flags: hold asks for reissue where the kernel has it", "[recovery]") {
  std::uint64_t f = 0;
  REQUIRE(RecoveryFlags(CrashMode::hold, k612, &f).ok());
  REQUIRE(f == (kRecovery | kReissue));
  REQUIRE(RecoveryModeName(f) == "hold-reissue");
  REQUIRE(RecoveryFlags(CrashMode::hold, k612 & ~kReissue, &f).ok());
  REQUIRE(f == kRecovery);
  REQUIRE(RecoveryModeName(f) == "hold");
}

TEST_CASE("recovery flags: fail needs FAIL_IO, never with REISSUE", "[recovery]") {
  std::uint64_t f = 0;
  Result r = RecoveryFlags(CrashMode::fail, k612, &f);
  REQUIRE(r.code() == Code::not_supported);
  REQUIRE(r.message().find("6.13") != std::string::npos);
  REQUIRE(r.message().find("--on-crash hold") != std::string::npos);
  REQUIRE(f == 0);
  REQUIRE(RecoveryFlags(CrashMode::fail, k613, &f).ok());
  REQUIRE(f == (kRecovery | kFailIo));
  REQUIRE(RecoveryModeName(f) == "fail");
  REQUIRE(RecoveryModeName(0) == "none");
  REQUIRE(RecoveryFlags(CrashMode::hold, 0, &f).code() == Code::not_supported);
}

TEST_CASE("crash mode parses hold and fail only", "[recovery]") {
  CrashMode m = CrashMode::fail;
  REQUIRE(ParseCrashMode("hold", &m).ok());
  REQUIRE(m == CrashMode::hold);
  REQUIRE(ParseCrashMode("fail", &m).ok());
  REQUIRE(m == CrashMode::fail);
  const Result bad = ParseCrashMode("wait", &m);
  REQUIRE(bad.code() == Code::invalid_argument);
  REQUIRE(bad.message() == "bad --on-crash 'wait': expected hold or fail");
  REQUIRE(m == CrashMode::fail);
  REQUIRE(ToString(CrashMode::hold) == "hold");
}

TEST_CASE("owner tags: one per state dir, all recognisably blkgate's", "[recovery]") {
  REQUIRE(OwnerTag("/var/lib/blkgate") == kOurs);
  REQUIRE(OwnerTag("/srv/other") != kOurs);
  REQUIRE(IsBlkgateTag(kOurs));
  REQUIRE(IsBlkgateTag(OwnerTag("/srv/other")));
  REQUIRE_FALSE(IsBlkgateTag(0));
  REQUIRE_FALSE(IsBlkgateTag(0x1234));
}

TEST_CASE("no device at the volume's id: create it there", "[recovery]") {
  REQUIRE(PlanVolumeDevice(nullptr, Want()).action == DeviceAction::create);
}

TEST_CASE("our quiesced device with the volume's geometry is recovered", "[recovery]") {
  FoundDevice d = Left();
  REQUIRE(Plan(d) == DeviceAction::recover);
  // The pid of the dead server may have been reused: a quiesced device has no server anyway.
  d.server_alive = true;
  REQUIRE(Plan(d) == DeviceAction::recover);
  // fail-io (6.13+ with FAIL_IO) is recoverable too.
  d.state = ublk::kDevFailIo;
  d.flags = kRecovery | kFailIo;
  REQUIRE(Plan(d) == DeviceAction::recover);
  // A device made under the other --on-crash mode keeps its own.
  d.state = ublk::kDevQuiesced;
  d.flags = kRecovery;
  REQUIRE(Plan(d) == DeviceAction::recover);
}

TEST_CASE("our device that cannot serve the volume is replaced, naming the difference",
          "[recovery]") {
  struct Case {
    const char* what;
    void (*change)(FoundDevice&);
    const char* says;
  };
  const Case cases[] = {
      {"size", [](FoundDevice& d) { d.size = 32 << 20; }, "size 33554432"},
      {"block size", [](FoundDevice& d) { d.logical_block = 4096; }, "logical block size 4096"},
      {"queues", [](FoundDevice& d) { d.queues = 1; }, "queues 1"},
      {"depth", [](FoundDevice& d) { d.depth = 64; }, "queue depth 64"},
      {"params never set", [](FoundDevice& d) { d.size = 0; }, "size 0"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    FoundDevice d = Left();
    c.change(d);
    DevicePlan p = PlanVolumeDevice(&d, Want());
    REQUIRE(p.action == DeviceAction::replace);
    REQUIRE(p.why.find(c.says) != std::string::npos);
    REQUIRE(p.why.find("ublk device 3") != std::string::npos);
  }
}

TEST_CASE("our device never started or stopped is replaced", "[recovery]") {
  FoundDevice d = Left();
  d.state = ublk::kDevDead;
  d.server_pid = -1;
  REQUIRE(Plan(d) == DeviceAction::replace);
}

TEST_CASE("our device still live: the old daemon is exiting, look again", "[recovery]") {
  FoundDevice d = Left();
  d.state = ublk::kDevLive;
  REQUIRE(Plan(d) == DeviceAction::wait);
  d.server_alive = true;
  REQUIRE(Plan(d) == DeviceAction::wait);
}

TEST_CASE("our live device served by this daemon is another volume's: another id at once",
          "[recovery]") {
  // A start gives a volume whose recorded id is taken by another server a new device at the
  // lowest free id, which can be the id the state recorded for a later volume.
  FoundDevice d = Left();
  d.state = ublk::kDevLive;
  d.server_alive = true;
  WantedDevice w = Want();
  w.self_pid = d.server_pid;
  const DevicePlan p = PlanVolumeDevice(&d, w);
  REQUIRE(p.action == DeviceAction::create_elsewhere);
  REQUIRE(p.why.find("served by this daemon") != std::string::npos);
  // Another pid is the previous daemon, still exiting: wait for it, as before.
  w.self_pid = d.server_pid + 1;
  REQUIRE(PlanVolumeDevice(&d, w).action == DeviceAction::wait);
}

TEST_CASE("another server's device is never touched", "[recovery]") {
  for (std::uint16_t state : {ublk::kDevLive, ublk::kDevQuiesced, ublk::kDevFailIo}) {
    INFO("state " << state);
    FoundDevice d = Left();
    d.state = state;
    d.owner = 0;  // not stamped: not a blkgate device
    d.server_alive = state == ublk::kDevLive;
    REQUIRE(Plan(d) == DeviceAction::create_elsewhere);
    d.owner = OwnerTag("/srv/other");  // another blkgate's
    REQUIRE(Plan(d) == DeviceAction::create_elsewhere);
  }
  // Another blkgate's dead device stays too: its daemon may be starting it.
  FoundDevice d = Left();
  d.state = ublk::kDevDead;
  d.owner = OwnerTag("/srv/other");
  REQUIRE(Plan(d) == DeviceAction::create_elsewhere);
  // Not stamped, dead, with a live server: someone is setting it up.
  d.owner = 0;
  d.server_alive = true;
  REQUIRE(Plan(d) == DeviceAction::create_elsewhere);
}

TEST_CASE("an unstamped dead leftover with no server is replaced (older blkgate)", "[recovery]") {
  FoundDevice d = Left();
  d.state = ublk::kDevDead;
  d.owner = 0;
  d.server_pid = -1;
  d.server_alive = false;
  REQUIRE(Plan(d) == DeviceAction::replace);
}

TEST_CASE("orphans: ours and unclaimed are deleted, anything else stays", "[recovery]") {
  std::string why;
  FoundDevice d = Left();
  REQUIRE(IsOrphanOf(d, kOurs, {1, 2}, &why));
  REQUIRE(why.find("ublk device 3") != std::string::npos);
  why.clear();
  REQUIRE_FALSE(IsOrphanOf(d, kOurs, {3}, &why));  // a volume claims it
  REQUIRE(why.empty());
  d.state = ublk::kDevDead;  // a create that crashed before START_DEV
  REQUIRE(IsOrphanOf(d, kOurs, {}, &why));
  d.state = ublk::kDevLive;  // its server is gone
  REQUIRE(IsOrphanOf(d, kOurs, {}, &why));
  d.server_alive = true;  // someone serves it: left alone, and said so
  why.clear();
  REQUIRE_FALSE(IsOrphanOf(d, kOurs, {}, &why));
  REQUIRE(why.find("left alone") != std::string::npos);
  FoundDevice other = Left();
  other.owner = OwnerTag("/srv/other");
  why.clear();
  REQUIRE_FALSE(IsOrphanOf(other, kOurs, {}, &why));
  other.owner = 0;
  REQUIRE_FALSE(IsOrphanOf(other, kOurs, {}, &why));
  REQUIRE(why.empty());
}

}  // namespace blkgate
