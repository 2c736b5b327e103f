// The control library's client (blkgate/client.h) against servers that misbehave: one that
// never accepts, one that accepts and never answers, one that answers before reading and closes.
// Every wait ends at the timeout with a named protocol-error; nothing hangs.
#include <sys/socket.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "blkgate/client.h"
#include "blkgate/protocol.h"
#include "blkgate/unique_fd.h"
#include "unix_socket.h"

using namespace blkgate;
using blkgate::testing::TempSocket;
using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kTimeout{300};

// A listening socket that nobody accepts on; backlog as given.
struct Listener {
  std::string path = TempSocket("-client");
  UniqueFd fd;
  explicit Listener(int backlog) {
    ::unlink(path.c_str());
    fd.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    const sockaddr_un addr = testing::AddressOf(path);
    REQUIRE(::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd.get(), backlog) == 0);
  }
  ~Listener() { ::unlink(path.c_str()); }
};

}  // namespace

TEST_CASE("client: a daemon that never answers gives protocol-error after the timeout") {
  Listener l(8);  // connections complete in the backlog; nothing is ever read or answered
  std::unique_ptr<Client> c;
  REQUIRE(Client::Connect(l.path, &c, kTimeout).ok());
  const auto t0 = Clock::now();
  const Result r = c->Call("ping", json::object());
  const auto took = Clock::now() - t0;
  CHECK(r.code() == Code::protocol_error);
  CHECK(r.message() == "no reply within 0.3 s");
  CHECK(took >= kTimeout);
  CHECK(took < std::chrono::seconds(3));
}

TEST_CASE("client: a daemon that accepts nothing gives protocol-error after the timeout") {
  Listener l(0);  // one connection waits in the backlog; the next finds it full
  std::unique_ptr<Client> first, second;
  REQUIRE(Client::Connect(l.path, &first, kTimeout).ok());
  const auto t0 = Clock::now();
  const Result r = Client::Connect(l.path, &second, kTimeout);
  CHECK(Clock::now() - t0 < std::chrono::seconds(3));
  CHECK(r.code() == Code::protocol_error);
  CHECK(r.message() ==
        "the blkgate daemon at " + l.path + " did not accept the connection within 0.3 s");
}

TEST_CASE("client: a refusal sent before the request was read is the call's result") {
  Listener l(8);
  std::unique_ptr<Client> c;
  REQUIRE(Client::Connect(l.path, &c, kTimeout).ok());
  {
    // The server's side: answer at once and close without reading (too many clients).
    UniqueFd conn(::accept4(l.fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
    REQUIRE(conn.valid());
    protocol::Reply no;
    no.result = Result::NotReady("too many clients");
    const std::string wire = protocol::Encode(no);
    REQUIRE(::send(conn.get(), wire.data(), wire.size(), 0) == static_cast<ssize_t>(wire.size()));
  }
  const Result r = c->Call("ping", json::object());
  CHECK(r.code() == Code::not_ready);
  CHECK(r.message() == "too many clients");
}

TEST_CASE("client: without a timeout, a slow answer is still waited for") {
  Listener l(8);
  std::unique_ptr<Client> c;
  REQUIRE(Client::Connect(l.path, &c).ok());
  std::thread server([&] {
    UniqueFd conn(::accept4(l.fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    protocol::Reply ok;
    const std::string wire = protocol::Encode(ok);
    ssize_t n = ::send(conn.get(), wire.data(), wire.size(), MSG_NOSIGNAL);
    (void)n;
    testing::Drain(conn.get(), std::chrono::seconds(2));  // until the client closes
  });
  CHECK(c->Call("ping", json::object()).ok());
  c.reset();
  server.join();
}
