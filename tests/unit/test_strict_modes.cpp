// Strict modes (gate/strict_modes.h) on real directories under /tmp, and the hook runner
// (gate/hooks.h) on real hooks: unsafe ones never run, safe ones start with fds 0-2 only, a
// minimal environment and a clean signal mask. The ownership cases need root (chown); run as
// another user they are skipped with a warning.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "blkgate/unique_fd.h"
#include "hooks.h"
#include "strict_modes.h"

using namespace blkgate;

namespace {

constexpr uid_t kNobody = 65534;

// A fresh directory under /tmp (0700), removed with everything in it at the end.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/blkgate-modes.XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
  std::string Mkdir(const std::string& name, mode_t mode) const {
    const std::string p = path + "/" + name;
    REQUIRE(::mkdir(p.c_str(), 0700) == 0);
    REQUIRE(::chmod(p.c_str(), mode) == 0);
    return p;
  }
};

bool Root() {
  if (::geteuid() == 0) return true;
  WARN("not root: the ownership cases are skipped");
  return false;
}

std::string Read(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// bash: unlike dash, it opens a redirection in the child, so the shell's own fds stay its own.
void WriteHook(const std::string& path, const std::string& body, mode_t mode) {
  {
    std::ofstream f(path);
    f << "#!/bin/bash\n" << body;
  }
  REQUIRE(::chmod(path.c_str(), mode) == 0);
}

}  // namespace

TEST_CASE("strict modes: the directory itself is writable by its owner only") {
  TempDir t;
  const uid_t me = ::geteuid();
  const std::string state = t.Mkdir("state", 0700);
  REQUIRE(CheckSafeDirectory(state, me, "state dir").ok());
  REQUIRE(::chmod(state.c_str(), 0755) == 0);
  REQUIRE(CheckSafeDirectory(state, me, "state dir").ok());
  for (mode_t bad : {0777, 0770, 0702, 01777}) {  // sticky does not make the dir itself safe
    REQUIRE(::chmod(state.c_str(), bad) == 0);
    Result r = CheckSafeDirectory(state, me, "state dir");
    REQUIRE(r.code() == Code::permission_denied);
    REQUIRE(r.message().find("state dir " + state + " is writable by group or others") == 0);
    REQUIRE(r.message().find("chmod go-w " + state) != std::string::npos);
  }
  REQUIRE(CheckSafeDirectory(t.path + "/missing", me, "state dir").code() == Code::not_found);
  REQUIRE(CheckSafeDirectory("rel/state", me, "state dir").code() == Code::invalid_argument);
  const std::string file = t.path + "/file";
  std::ofstream(file) << "x";
  REQUIRE(CheckSafeDirectory(file, me, "state dir").code() == Code::invalid_argument);
}

TEST_CASE("strict modes: a directory above may be writable by others only when sticky") {
  TempDir t;
  const uid_t me = ::geteuid();
  const std::string parent = t.Mkdir("p", 0777);
  const std::string state = parent + "/state";
  REQUIRE(::mkdir(state.c_str(), 0700) == 0);
  Result r = CheckSafeDirectory(state, me, "state dir");
  REQUIRE(r.code() == Code::permission_denied);
  REQUIRE(r.message() == "state dir " + state + ": " + parent +
                             ", a directory above it, is writable by group or others (mode "
                             "0777): chmod go-w " +
                             parent);
  REQUIRE(::chmod(parent.c_str(), 01777) == 0);  // like /tmp
  REQUIRE(CheckSafeDirectory(state, me, "state dir").ok());
  REQUIRE(::chmod(parent.c_str(), 0775) == 0);
  REQUIRE(CheckSafeDirectory(state, me, "state dir").code() == Code::permission_denied);
  // A state dir still to be created: its parent is judged as a directory above it.
  const std::string fresh = parent + "/fresh";
  r = CheckSafeParent(fresh, me, "state dir");
  REQUIRE(r.code() == Code::permission_denied);
  REQUIRE(r.message().find("state dir " + fresh + ": " + parent + ", a directory above it,") == 0);
  REQUIRE(::chmod(parent.c_str(), 01777) == 0);
  REQUIRE(CheckSafeParent(fresh, me, "state dir").ok());
  REQUIRE(CheckSafeParent("/tmp/blkgate-fresh-state/", me, "state dir").ok());
  REQUIRE(CheckSafeParent("fresh", me, "state dir").code() == Code::invalid_argument);
}

TEST_CASE("strict modes: every directory on the way is owned by root") {
  if (!Root()) return;
  TempDir t;
  const std::string parent = t.Mkdir("p", 0755);
  const std::string state = parent + "/state";
  REQUIRE(::mkdir(state.c_str(), 0700) == 0);
  REQUIRE(::chown(parent.c_str(), kNobody, kNobody) == 0);
  Result r = CheckSafeDirectory(state, 0, "state dir");
  REQUIRE(r.code() == Code::permission_denied);
  REQUIRE(r.message().find("state dir " + state + ": " + parent +
                           " is owned by uid 65534, not root") == 0);
  REQUIRE(r.message().find("chown root " + parent) != std::string::npos);
  // Sticky does not help: the owner of a sticky directory may still rename what is in it.
  REQUIRE(::chmod(parent.c_str(), 01777) == 0);
  REQUIRE(CheckSafeDirectory(state, 0, "state dir").code() == Code::permission_denied);
  REQUIRE(::chown(parent.c_str(), 0, 0) == 0);
  REQUIRE(CheckSafeDirectory(state, 0, "state dir").ok());
  REQUIRE(::chown(state.c_str(), kNobody, kNobody) == 0);
  r = CheckSafeDirectory(state, 0, "state dir");
  REQUIRE(r.message().find("state dir " + state + " is owned by uid 65534, not root") == 0);
  // The daemon's own user counts as root (when it is not root itself).
  REQUIRE(CheckSafeDirectory(state, kNobody, "state dir").ok());
}

TEST_CASE("strict modes: symlinks are followed, and judged with where they lead") {
  TempDir t;
  const uid_t me = ::geteuid();
  const std::string real = t.Mkdir("real", 0700);
  const std::string link = t.path + "/link";
  REQUIRE(::symlink("real", link.c_str()) == 0);
  REQUIRE(CheckSafeDirectory(link, me, "state dir").ok());
  REQUIRE(CheckSafeDirectory(link + "/../link/.", me, "state dir").ok());
  // Where it leads is judged as the directory itself.
  REQUIRE(::chmod(real.c_str(), 0777) == 0);
  Result r = CheckSafeDirectory(link, me, "state dir");
  REQUIRE(r.code() == Code::permission_denied);
  REQUIRE(r.message().find("state dir " + link + ": " + real + " is writable") == 0);
  REQUIRE(::chmod(real.c_str(), 0700) == 0);
  // A link to a directory below an unsafe one.
  const std::string open = t.Mkdir("open", 0777);
  REQUIRE(::mkdir((open + "/s").c_str(), 0700) == 0);
  const std::string link2 = t.path + "/link2";
  REQUIRE(::symlink((open + "/s").c_str(), link2.c_str()) == 0);
  r = CheckSafeDirectory(link2, me, "state dir");
  REQUIRE(r.code() == Code::permission_denied);
  REQUIRE(r.message().find(open + ", a directory above it,") != std::string::npos);
  // A link someone else owns (in a sticky dir, they could replace it).
  if (Root()) {
    REQUIRE(::lchown(link.c_str(), kNobody, kNobody) == 0);
    r = CheckSafeDirectory(link, 0, "state dir");
    REQUIRE(r.code() == Code::permission_denied);
    REQUIRE(r.message().find(link + " is owned by uid 65534") != std::string::npos);
  }
  const std::string loop = t.path + "/loop";
  REQUIRE(::symlink("loop", loop.c_str()) == 0);
  REQUIRE(CheckSafeDirectory(loop, me, "state dir").code() == Code::invalid_argument);
}

TEST_CASE("strict modes: hooks are regular files of root's, writable by root only") {
  struct stat st {};
  st.st_mode = S_IFREG | 0755;
  st.st_uid = 0;
  REQUIRE(JudgeHook(st, "/h/10-a", 0).ok());
  st.st_mode = S_IFREG | 0700;
  REQUIRE(JudgeHook(st, "/h/10-a", 0).ok());
  st.st_mode = S_IFREG | 0777;
  Result r = JudgeHook(st, "/h/10-a", 0);
  REQUIRE(r.code() == Code::permission_denied);
  REQUIRE(r.message() ==
          "hook /h/10-a is writable by group or others (mode 0777): chmod go-w /h/10-a");
  st.st_mode = S_IFREG | 0775;
  REQUIRE(JudgeHook(st, "/h/10-a", 0).code() == Code::permission_denied);
  st.st_mode = S_IFREG | 0755;
  st.st_uid = kNobody;
  r = JudgeHook(st, "/h/10-a", 0);
  REQUIRE(r.code() == Code::permission_denied);
  REQUIRE(r.message().find("hook /h/10-a is owned by uid 65534, not root") == 0);
  REQUIRE(JudgeHook(st, "/h/10-a", kNobody).ok());
  st.st_uid = 0;
  st.st_mode = S_IFLNK | 0777;
  REQUIRE(JudgeHook(st, "/h/10-a", 0).message().find("is a symbolic link") != std::string::npos);
  st.st_mode = S_IFIFO | 0755;
  REQUIRE(JudgeHook(st, "/h/10-a", 0).code() == Code::permission_denied);
}

TEST_CASE("hooks: an unsafe hook or hooks dir is never run; pre-* fails, post-* is skipped") {
  TempDir t;
  const uid_t me = ::geteuid();
  const std::string dir = t.Mkdir("hooks", 0755);
  const std::string marker = t.path + "/ran";
  HookTokens tokens;
  HookRunner runner(HookOptions{dir, "/x/control.sock", 10, me}, &tokens);
  auto run = [&](HookEvent e) { return runner.Run(e, Kind::volume, "v", ResourceState::online); };
  // No hook ran, not even the safe one before it; a post event is not refused, and runs none.
  auto none_ran = [&] {
    REQUIRE(::access(marker.c_str(), F_OK) != 0);
    REQUIRE(run(HookEvent::post_offline).ok());
    REQUIRE(::access(marker.c_str(), F_OK) != 0);
  };
  WriteHook(dir + "/10-safe", "echo safe >>" + marker + "\n", 0755);
  std::ofstream(dir + "/README") << "not a hook (not executable)\n";
  REQUIRE(run(HookEvent::pre_offline).ok());
  REQUIRE(Read(marker) == "safe\n");
  ::unlink(marker.c_str());

  SECTION("writable by others") {
    WriteHook(dir + "/20-open", "echo open >>" + marker + "\n", 0777);
    Result r = run(HookEvent::pre_offline);
    REQUIRE(r.code() == Code::permission_denied);
    REQUIRE(r.message() == "hook " + dir + "/20-open is writable by group or others (mode " +
                               "0777): chmod go-w " + dir + "/20-open");
    none_ran();
  }
  SECTION("owned by someone else") {
    if (!Root()) return;
    WriteHook(dir + "/20-theirs", "echo theirs >>" + marker + "\n", 0755);
    REQUIRE(::chown((dir + "/20-theirs").c_str(), kNobody, kNobody) == 0);
    Result r = run(HookEvent::pre_online);
    REQUIRE(r.code() == Code::permission_denied);
    REQUIRE(r.message().find("hook " + dir + "/20-theirs is owned by uid 65534") == 0);
    none_ran();
  }
  SECTION("a symlink") {
    WriteHook(t.path + "/elsewhere", "echo link >>" + marker + "\n", 0755);
    REQUIRE(::symlink((t.path + "/elsewhere").c_str(), (dir + "/20-link").c_str()) == 0);
    REQUIRE(run(HookEvent::pre_offline).code() == Code::permission_denied);
    none_ran();
  }
  SECTION("the hooks dir writable by others") {
    REQUIRE(::chmod(dir.c_str(), 0777) == 0);
    Result r = run(HookEvent::pre_offline);
    REQUIRE(r.code() == Code::permission_denied);
    REQUIRE(r.message().find("hooks dir " + dir + " is writable") == 0);
    none_ran();
  }
}

TEST_CASE("hooks: no hooks dir, no hooks") {
  HookTokens tokens;
  HookRunner runner(HookOptions{"/nonexistent/blkgate/hooks", "", 10, ::geteuid()}, &tokens);
  REQUIRE(runner.Run(HookEvent::pre_offline, Kind::disk, "k", ResourceState::online).ok());
}

TEST_CASE("hooks start with fds 0-2 only, a minimal environment and a clean signal mask") {
  TempDir t;
  const std::string dir = t.Mkdir("hooks", 0755);
  const std::string out = t.path + "/out";
  // ls lists the shell's fds from a child of it; the shell's own script fd (bash: 255) is left
  // out below.
  WriteHook(dir + "/10-env",
            "ls -l /proc/$$/fd >" + out + ".fds\n" + "tr '\\0' '\\n' </proc/$$/environ >" + out +
                ".env\n" + "grep -E '^Sig(Blk|Ign)' /proc/$$/status >" + out + ".sig\n",
            0755);
  // What the daemon has that a hook must not get: an fd without CLOEXEC, its environment, a
  // blocked and an ignored signal.
  UniqueFd leak(::open("/dev/zero", O_RDONLY));
  REQUIRE(leak.valid());
  ::setenv("BLKGATE_LEAK", "1", 1);
  ::setenv("SECRET_TOKEN", "x", 1);
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  REQUIRE(pthread_sigmask(SIG_BLOCK, &block, &old) == 0);
  struct sigaction ign {
  }, old_pipe{};
  ign.sa_handler = SIG_IGN;
  REQUIRE(::sigaction(SIGPIPE, &ign, &old_pipe) == 0);

  HookTokens tokens;
  HookRunner runner(HookOptions{dir, "/x/control.sock", 10, ::geteuid()}, &tokens);
  Result r = runner.Run(HookEvent::pre_offline, Kind::volume, "v0", ResourceState::online);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ::sigaction(SIGPIPE, &old_pipe, nullptr);
  ::unsetenv("BLKGATE_LEAK");
  ::unsetenv("SECRET_TOKEN");
  REQUIRE(r.ok());

  std::map<std::string, std::string> fds;  // fd -> target
  std::istringstream ls(Read(out + ".fds"));
  for (std::string line; std::getline(ls, line);) {
    const auto arrow = line.find(" -> ");
    if (arrow == std::string::npos) continue;
    const std::string target = line.substr(arrow + 4);
    const std::string before = line.substr(0, arrow);
    const std::string fd = before.substr(before.rfind(' ') + 1);
    if (target != dir + "/10-env") fds[fd] = target;  // the shell reading its script
  }
  INFO(Read(out + ".fds"));
  REQUIRE(fds.size() == 3);
  REQUIRE(fds["0"] == "/dev/null");
  REQUIRE(fds.count("1"));
  REQUIRE(fds.count("2"));

  std::set<std::string> names;
  std::map<std::string, std::string> env;
  std::istringstream es(Read(out + ".env"));
  for (std::string line; std::getline(es, line);) {
    const auto eq = line.find('=');
    env[line.substr(0, eq)] = line.substr(eq + 1);
    names.insert(line.substr(0, eq));
  }
  REQUIRE(names == std::set<std::string>{"PATH", "LANG", "LC_ALL", "BLKGATE_EVENT", "BLKGATE_KIND",
                                         "BLKGATE_NAME", "BLKGATE_OBJECT", "BLKGATE_STATE",
                                         "BLKGATE_HOOK_TOKEN", "BLKGATE_SOCKET"});
  REQUIRE(env["PATH"] == "/usr/sbin:/usr/bin:/sbin:/bin");
  REQUIRE(env["LC_ALL"] == "C");
  REQUIRE(env["BLKGATE_OBJECT"] == "volume/v0");
  REQUIRE(env["BLKGATE_EVENT"] == "pre-offline");
  REQUIRE(env["BLKGATE_SOCKET"] == "/x/control.sock");

  // SigBlk and SigIgn are hex masks, bit (signal - 1). (bash blocks SIGCHLD itself around a
  // child, so only the daemon's signals are looked at.)
  std::istringstream ss(Read(out + ".sig"));
  std::map<std::string, unsigned long long> sig;
  for (std::string key, hex; ss >> key >> hex;) sig[key] = std::stoull(hex, nullptr, 16);
  REQUIRE(sig.count("SigBlk:"));
  REQUIRE(sig.count("SigIgn:"));
  for (int s : {SIGTERM, SIGINT, SIGPIPE, SIGHUP}) {
    REQUIRE((sig["SigBlk:"] & (1ull << (s - 1))) == 0);
    REQUIRE((sig["SigIgn:"] & (1ull << (s - 1))) == 0);
  }
}
