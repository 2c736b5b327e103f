// blkgate::UniqueFd: the descriptor is closed exactly when its one owner lets it go.
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <utility>

#include "blkgate/unique_fd.h"

using blkgate::UniqueFd;

namespace {

bool IsOpen(int fd) {
  return ::fcntl(fd, F_GETFD) != -1;
}

// Both ends of a new pipe, each with its owner.
std::pair<UniqueFd, UniqueFd> Pipe() {
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

}  // namespace

TEST_CASE("UniqueFd closes its descriptor when destroyed") {
  int raw;
  {
    auto [r, w] = Pipe();
    raw = r.get();
    REQUIRE(r.valid());
    REQUIRE(IsOpen(raw));
  }
  REQUIRE_FALSE(IsOpen(raw));
  REQUIRE_FALSE(UniqueFd().valid());
  REQUIRE(UniqueFd().get() == -1);
}

TEST_CASE("UniqueFd moves ownership: the source is left empty, the target closes") {
  auto [r, w] = Pipe();
  const int raw = r.get();
  UniqueFd moved(std::move(r));
  REQUIRE_FALSE(r.valid());  // a moved-from UniqueFd is specified to be empty
  REQUIRE(moved.get() == raw);
  REQUIRE(IsOpen(raw));

  // Move assignment closes what the target held before.
  const int old_w = w.get();
  w = std::move(moved);
  REQUIRE_FALSE(IsOpen(old_w));
  REQUIRE(w.get() == raw);
  REQUIRE(IsOpen(raw));

  // Self-move keeps the descriptor.
  UniqueFd& alias = w;
  w = std::move(alias);
  REQUIRE(w.get() == raw);
  REQUIRE(IsOpen(raw));
}

TEST_CASE("UniqueFd::release gives the descriptor up without closing it") {
  auto [r, w] = Pipe();
  const int raw = r.get();
  int released;
  {
    UniqueFd owner(std::move(r));
    released = owner.release();
    REQUIRE_FALSE(owner.valid());
  }
  REQUIRE(released == raw);
  REQUIRE(IsOpen(raw));
  UniqueFd again(released);  // owned (and closed) once more
}

TEST_CASE("UniqueFd::reset closes the old descriptor and owns the new one") {
  auto [r, w] = Pipe();
  const int old_r = r.get();
  const int raw_w = w.release();
  r.reset(raw_w);
  REQUIRE_FALSE(IsOpen(old_r));
  REQUIRE(r.get() == raw_w);
  r.reset();
  REQUIRE_FALSE(IsOpen(raw_w));
  REQUIRE_FALSE(r.valid());
  r.reset(-5);  // any negative value means none
  REQUIRE(r.get() == -1);
}
