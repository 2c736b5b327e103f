// tests/tools/blkgate-raw — send any bytes to the daemon's control socket and print the replies.
//
//   blkgate-raw [--socket PATH] [--replies K] [--timeout SEC] MESSAGE...
//
// MESSAGE options are sent in the order given, on one connection:
//   --line TEXT    TEXT and a newline
//   --nested N     {"v":1,"op":"ping","args":{"x":[[[... with N '[' never closed, and a newline
//                  (1M levels fit in the 1 MiB line limit only this way)
//   --balanced N   the same with the N arrays closed: ...[[0]]...]}}, and a newline
//   --long N       a ping line of N bytes before its newline (a string argument padded with 'a')
//   --stdin        standard input as it is (no newline added)
// The messages are generated as they are sent, never held as a JSON tree. While sending, the
// replies are read as they come (a daemon that answers early or closes is never deadlocked on),
// and each reply line is printed on stdout as received. Then the tool waits for the remaining
// replies: until K lines came (--replies K), or until the daemon closes the connection (no
// --replies), or --timeout SEC (default 10) passes. Last, one line on stderr:
//   "blkgate-raw: N replies; the daemon closed the connection" (or "; the connection is open").
// Exit status: 0 when the wait ended as asked (K replies, or the close), 3 on timeout, 1 when the
// socket cannot be reached, 2 for bad usage. The VM tests (tests/e2e/hardening/) use it to send
// what blkgatectl never would. Bytes a closed connection refused are reported, not an error.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "blkgate/unique_fd.h"

namespace {

using Clock = std::chrono::steady_clock;

int Usage() {
  std::fputs(
      "usage: blkgate-raw [--socket PATH] [--replies K] [--timeout SEC] MESSAGE...\n"
      "  MESSAGE: --line TEXT | --nested N | --balanced N | --long N | --stdin\n"
      "  PATH defaults to $BLKGATE_SOCKET\n",
      stderr);
  return 2;
}

bool ParseCount(const char* s, std::size_t* out) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || s[0] == '-') return false;
  *out = static_cast<std::size_t>(v);
  return true;
}

const std::string kPingHead = R"({"v":1,"op":"ping","args":{"x":)";

// The bytes of one MESSAGE option; --stdin is read whole (tests send little through it).
bool Build(const std::string& opt, const char* arg, std::string* out) {
  std::size_t n = 0;
  if (opt == "--line") {
    *out = std::string(arg) + "\n";
  } else if (opt == "--stdin") {
    char buf[65536];
    ssize_t got;
    while ((got = ::read(0, buf, sizeof buf)) > 0) out->append(buf, static_cast<std::size_t>(got));
    if (got < 0) return false;
  } else if (!ParseCount(arg, &n)) {
    return false;
  } else if (opt == "--nested") {
    *out = kPingHead + std::string(n, '[') + "\n";
  } else if (opt == "--balanced") {
    *out = kPingHead + std::string(n, '[') + "0" + std::string(n, ']') + "}}\n";
  } else if (opt == "--long") {
    const std::string head = kPingHead + "\"", tail = "\"}}";
    const std::size_t pad = n > head.size() + tail.size() ? n - head.size() - tail.size() : 0;
    *out = head + std::string(pad, 'a') + tail + "\n";
  } else {
    return false;
  }
  return true;
}

class Session {
 public:
  explicit Session(int fd) : fd_(fd) {}

  // Sends `out` while printing what arrives; false when the daemon closed first.
  void Send(const std::string& out) {
    std::size_t off = 0;
    while (off < out.size() && !closed_) {
      pollfd p{fd_, POLLIN | POLLOUT, 0};
      if (::poll(&p, 1, -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (p.revents & (POLLIN | POLLHUP)) Receive();
      if (closed_ || !(p.revents & POLLOUT)) continue;
      const ssize_t n = ::send(fd_, out.data() + off, out.size() - off, MSG_NOSIGNAL);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n < 0) {
        std::fprintf(stderr, "blkgate-raw: send: %s (%zu of %zu bytes sent)\n",
                     std::strerror(errno), off, out.size());
        break;
      }
      off += static_cast<std::size_t>(n);
    }
  }

  // Reads until `want` replies (0: until the close) or the deadline; false on timeout.
  bool Wait(std::size_t want, Clock::time_point deadline) {
    while (!closed_ && (want == 0 || replies_ < want)) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      const int r = ::poll(&p, 1, static_cast<int>(left));
      if (r < 0 && errno != EINTR) return false;
      if (r > 0) Receive();
    }
    return true;
  }

  std::size_t replies() const { return replies_; }
  bool closed() const { return closed_; }

 private:
  void Receive() {
    char buf[65536];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) {  // EOF, or ECONNRESET: either way the daemon is gone from this connection
      closed_ = true;
      if (!partial_.empty()) std::printf("%s\n", partial_.c_str());  // unterminated last words
      return;
    }
    partial_.append(buf, static_cast<std::size_t>(n));
    std::size_t nl;
    while ((nl = partial_.find('\n')) != std::string::npos) {
      std::fwrite(partial_.data(), 1, nl + 1, stdout);
      std::fflush(stdout);
      partial_.erase(0, nl + 1);
      ++replies_;
    }
  }

  int fd_;
  std::string partial_;
  std::size_t replies_ = 0;
  bool closed_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  const char* env_socket = std::getenv("BLKGATE_SOCKET");
  std::string socket_path = env_socket ? env_socket : "";
  std::size_t want = 0, timeout_s = 10;
  std::vector<std::string> messages;
  for (int i = 1; i < argc; ++i) {
    const std::string opt = argv[i];
    const bool takes_arg = opt != "--stdin";
    if (takes_arg && i + 1 >= argc) return Usage();
    const char* arg = takes_arg ? argv[++i] : nullptr;
    if (opt == "--socket") {
      socket_path = arg;
    } else if (opt == "--replies") {
      if (!ParseCount(arg, &want)) return Usage();
    } else if (opt == "--timeout") {
      if (!ParseCount(arg, &timeout_s)) return Usage();
    } else {
      std::string m;
      if (!Build(opt, arg, &m)) return Usage();
      messages.push_back(std::move(m));
    }
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.empty() || socket_path.size() >= sizeof addr.sun_path) return Usage();
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);

  blkgate::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid() || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::fprintf(stderr, "blkgate-raw: connect %s: %s\n", socket_path.c_str(),
                 std::strerror(errno));
    return 1;
  }
  const auto deadline = Clock::now() + std::chrono::seconds(timeout_s);
  Session s(fd.get());
  for (const std::string& m : messages) s.Send(m);
  const bool done = s.Wait(want, deadline);
  std::fprintf(stderr, "blkgate-raw: %zu replies; %s\n", s.replies(),
               s.closed() ? "the daemon closed the connection" : "the connection is open");
  return done ? 0 : 3;
}
