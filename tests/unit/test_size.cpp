#include <catch2/catch.hpp>

#include "blkgate/size.h"

using namespace blkgate;

TEST_CASE("parse_size accepts plain numbers and binary suffixes") {
  std::uint64_t v = 0;
  REQUIRE(ParseSize("0", &v).ok());
  REQUIRE(v == 0);
  REQUIRE(ParseSize("512", &v).ok());
  REQUIRE(v == 512);
  REQUIRE(ParseSize("4k", &v).ok());
  REQUIRE(v == 4096);
  REQUIRE(ParseSize("4K", &v).ok());
  REQUIRE(v == 4096);
  REQUIRE(ParseSize("4KiB", &v).ok());
  REQUIRE(v == 4096);
  REQUIRE(ParseSize("64M", &v).ok());
  REQUIRE(v == 64ull << 20);
  REQUIRE(ParseSize("1G", &v).ok());
  REQUIRE(v == 1ull << 30);
  REQUIRE(ParseSize("2T", &v).ok());
  REQUIRE(v == 2ull << 40);
  REQUIRE(ParseSize("100B", &v).ok());
  REQUIRE(v == 100);
  REQUIRE(ParseSize("16777215T", &v).ok());
  REQUIRE(v == 16777215ull << 40);
}

TEST_CASE("parse_size rejects bad input and leaves the output untouched") {
  for (const char* bad : {"", "-1", "+4", "1.5G", "G", "4X", "4 K", "4KB2", "4Bx", "0x10",
                          "18446744073709551616", "16777216T", "99999999999999999999K"}) {
    std::uint64_t v = 42;
    Result r = ParseSize(bad, &v);
    INFO(bad);
    REQUIRE(r.code() == Code::invalid_argument);
    REQUIRE(r.message().find("bad size") != std::string::npos);
    REQUIRE(v == 42);
  }
}

TEST_CASE("format_size prints the largest exact unit") {
  REQUIRE(FormatSize(0) == "0");
  REQUIRE(FormatSize(1536) == "1536");
  REQUIRE(FormatSize(4096) == "4K");
  REQUIRE(FormatSize(64ull << 20) == "64M");
  REQUIRE(FormatSize(3ull << 30) == "3G");
  REQUIRE(FormatSize(1ull << 40) == "1T");
  std::uint64_t v;
  for (std::uint64_t x : {512ull, 4096ull, 1ull << 33, 12345ull}) {
    REQUIRE(ParseSize(FormatSize(x), &v).ok());
    REQUIRE(v == x);
  }
}
