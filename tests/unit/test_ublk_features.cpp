// tests/unit/test_ublk_features.cpp — the kernel feature report (gate/ublk_features.h): bits
// decoded by name, the data path and recovery mode each kernel's answer gives, and the
// --version text and JSON.
#include <algorithm>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "ublk_abi.h"
#include "ublk_features.h"

namespace blkgate {
namespace {

// GET_FEATURES of Debian 12's 6.12 kernel (bits 1..8) and of a 7.x kernel (bits 0..19, as Debian
// unstable's 7.2.13 reports).
constexpr std::uint64_t k612 = 0x1fe;
constexpr std::uint64_t k72 = 0xfffff;

TEST_CASE("ublk feature table: one name per bit, in bit order, as in the uapi header",
          "[ublk_features]") {
  auto t = UblkFeatureTable();
  REQUIRE(t.size() == 20);
  for (std::size_t i = 0; i < t.size(); ++i) {
    CHECK(t[i].bit == 1ull << i);
    CHECK(t[i].name.substr(0, 7) == "UBLK_F_");
  }
  CHECK(t[11].name == "UBLK_F_AUTO_BUF_REG");
  CHECK(t[15].name == "UBLK_F_BATCH_IO");
}

TEST_CASE("ublk feature names: set bits by name, unknown bits by number", "[ublk_features]") {
  CHECK(UblkFeatureNames(0).empty());
  auto n = UblkFeatureNames(ublk::kFeatUserRecovery | ublk::kFeatAutoBufReg | (1ull << 40));
  REQUIRE(n.size() == 3);
  CHECK(n[0] == "UBLK_F_USER_RECOVERY");
  CHECK(n[1] == "UBLK_F_AUTO_BUF_REG");
  CHECK(n[2] == "bit 40");
  auto old = UblkFeatureNames(k612);
  CHECK(std::find(old.begin(), old.end(), "UBLK_F_AUTO_BUF_REG") == old.end());
  CHECK(std::find(old.begin(), old.end(), "UBLK_F_CMD_IOCTL_ENCODE") != old.end());
}

TEST_CASE("data path: zero copy for file where the kernel has AUTO_BUF_REG, else copy",
          "[ublk_features]") {
  for (BackendKind b : {BackendKind::file, BackendKind::mem, BackendKind::null})
    CHECK(ChooseDataPath(k612, b) == DataPathMode::copy);
  CHECK(ChooseDataPath(k72, BackendKind::file) == DataPathMode::zero_copy);
  CHECK(ChooseDataPath(k72, BackendKind::mem) == DataPathMode::copy);
  CHECK(ChooseDataPath(k72, BackendKind::null) == DataPathMode::copy);
  CHECK(ChooseDataPath(k72 & ~ublk::kFeatAutoBufReg, BackendKind::file) == DataPathMode::copy);
  CHECK(ToString(DataPathMode::zero_copy) == "zero-copy");
  // ADD_DEV's flags and back: a recovered device keeps its creator's data path.
  CHECK(DataPathFlags(DataPathMode::copy) == 0);
  CHECK(DataPathFlags(DataPathMode::zero_copy) ==
        (ublk::kFeatAutoBufReg | ublk::kFeatSupportZeroCopy));
  CHECK(DataPathOf(ublk::kFeatUserRecovery | ublk::kFeatAutoBufReg) == DataPathMode::zero_copy);
  CHECK(DataPathOf(ublk::kFeatUserRecovery) == DataPathMode::copy);
}

// A report of a kernel with ublk, its recovery decided.
UblkReport Report(const char* kernel, std::uint64_t features) {
  UblkReport r;
  r.ublk = true;
  r.kernel = kernel;
  r.features = features;
  DecideRecovery(&r);
  return r;
}

TEST_CASE("report: recovery per kernel and --on-crash", "[ublk_features]") {
  UblkReport r = Report("6.12.117+deb12-amd64", k612);
  CHECK(r.recovery == "hold-reissue");
  r.on_crash = CrashMode::fail;
  DecideRecovery(&r);
  CHECK(r.recovery.empty());
  CHECK(r.recovery_error.find("UBLK_F_USER_RECOVERY_FAIL_IO") != std::string::npos);
  r.features = k72;
  DecideRecovery(&r);
  CHECK(r.recovery == "fail");
  CHECK(r.recovery_error.empty());
}

TEST_CASE("report: text and JSON say the same", "[ublk_features]") {
  const UblkReport r = Report("7.2.13+deb14-amd64", k72);
  const std::string text = FormatReportText("0.1.0", r);
  CHECK(text.find("blkgate 0.1.0\n") == 0);
  CHECK(text.find("ublk features 0xfffff: UBLK_F_SUPPORT_ZERO_COPY UBLK_F_URING") !=
        std::string::npos);
  CHECK(text.find("data path: file zero-copy, mem copy, null copy\n") != std::string::npos);
  CHECK(text.find("recovery: hold-reissue (--on-crash hold)\n") != std::string::npos);
  CHECK(text.find("FUA writes: on (each written durably by itself)\n") != std::string::npos);
  auto j = nlohmann::json::parse(FormatReportJson("0.1.0", r));
  CHECK(j["version"] == "0.1.0");
  CHECK(j["kernel"] == "7.2.13+deb14-amd64");
  CHECK(j["ublk"] == true);
  CHECK(j["features"] == "0xfffff");
  CHECK(j["feature_names"].size() == 20);
  CHECK(j["data_path"]["file"] == "zero-copy");
  CHECK(j["data_path"]["mem"] == "copy");
  CHECK(j["kernel_has"]["zero_copy"] == true);
  CHECK(j["kernel_has"]["batched"] == true);
  CHECK(j["recovery"] == "hold-reissue");
  CHECK(j["fua"] == true);
  CHECK(FormatReportLog(r).find("data path: file zero-copy, mem copy, null copy; FUA on;") !=
        std::string::npos);
  UblkReport off = r;
  off.fua = false;
  CHECK(nlohmann::json::parse(FormatReportJson("0.1.0", off))["fua"] == false);
  CHECK(FormatReportText("0.1.0", off).find("FUA writes: off (--fua off: write + FLUSH)\n") !=
        std::string::npos);
  CHECK(FormatReportText("0.1.0", Report("6.12", k612)).find("data path: file copy,") !=
        std::string::npos);

  UblkReport none;
  none.error = "not-supported: no /dev/ublk-control";
  auto k = nlohmann::json::parse(FormatReportJson("0.1.0", none));
  CHECK(k["ublk"] == false);
  CHECK(k["error"] == none.error);
  CHECK(FormatReportText("0.1.0", none).find("ublk: not available: not-supported") !=
        std::string::npos);
}

}  // namespace
}  // namespace blkgate
