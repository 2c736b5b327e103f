// gate/hooks.cpp — hook tokens and the hook runner (see hooks.h).
#include "hooks.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "blkgate/unique_fd.h"
#include "log.h"
#include "strict_modes.h"

namespace blkgate {
namespace {

std::string NewToken() {
  unsigned char raw[16];
  if (::getrandom(raw, sizeof raw, 0) != static_cast<ssize_t>(sizeof raw)) {
    // Extremely unlikely; fall back to something unique enough per process lifetime.
    static std::atomic<unsigned long> n{0};
    return "t" + std::to_string(::getpid()) + "-" + std::to_string(++n);
  }
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (unsigned char c : raw) {
    s.push_back(hex[c >> 4]);
    s.push_back(hex[c & 15]);
  }
  return s;
}

// The hooks of `dir` in name order: its entries but directories and regular files without an
// execute bit, each judged by strict modes (JudgeHook), as is the dir itself. Empty when there
// is no hooks dir; permission_denied naming the dir or the first unsafe hook.
//
// Spawn() then runs a hook by its path, and that runs the inode judged here: the hooks dir and
// every directory above it can be changed by root only (checked first), so no one else can
// swap a name between this check and the exec; and only the hook's owner (root) can write it
// or change its mode.
Result FindHooks(const std::string& dir, uid_t owner, std::vector<std::string>* hooks) {
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0 && errno == ENOENT) return Result::Ok();
  BLKGATE_TRY(CheckSafeDirectory(dir, owner, "hooks dir"));
  UniqueDir d(::opendir(dir.c_str()));
  if (!d) return Result::FromErrno(errno, "open hooks dir " + dir);
  std::vector<std::string> names;
  while (dirent* ent = ::readdir(d.get()))
    if (ent->d_name[0] != '.') names.emplace_back(ent->d_name);
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    const std::string path = dir + "/" + name;
    if (::fstatat(::dirfd(d.get()), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // removed since it was listed
      return Result::FromErrno(errno, "stat hook " + path);
    }
    if (S_ISDIR(st.st_mode) || (S_ISREG(st.st_mode) && (st.st_mode & 0111) == 0)) continue;
    BLKGATE_TRY(JudgeHook(st, path, owner));
    hooks->push_back(path);
  }
  return Result::Ok();
}

// Spawns `path` with env: stdin /dev/null, stdout and stderr the daemon's, every other fd closed
// (closefrom: the daemon's rings, devices, sockets and backing files never reach a hook, CLOEXEC
// or not); the normal scheduling class even when the caller is SCHED_IDLE (a hook has a
// deadline), an empty signal mask and default dispositions for the signals the daemon blocks
// or ignores. Returns 0 or an errno value.
int Spawn(const std::string& path, std::vector<std::string>& env, pid_t* pid) {
  std::vector<char*> envp;
  for (auto& s : env) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string arg0 = path;
  char* argv[] = {arg0.data(), nullptr};
  posix_spawn_file_actions_t fa;
  ::posix_spawn_file_actions_init(&fa);
  ::posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  ::posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  posix_spawnattr_t attr;
  ::posix_spawnattr_init(&attr);
  sched_param sp{};
  ::posix_spawnattr_setschedpolicy(&attr, SCHED_OTHER);
  ::posix_spawnattr_setschedparam(&attr, &sp);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP}) sigaddset(&defaults, sig);
  ::posix_spawnattr_setsigmask(&attr, &none);
  ::posix_spawnattr_setsigdefault(&attr, &defaults);
  ::posix_spawnattr_setflags(
      &attr, POSIX_SPAWN_SETSCHEDULER | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  int rc = ::posix_spawn(pid, path.c_str(), &fa, &attr, argv, envp.data());
  ::posix_spawnattr_destroy(&attr);
  ::posix_spawn_file_actions_destroy(&fa);
  return rc;
}

// Waits for pid at most timeout_s seconds (then kills it). "" when it exited 0, else what
// happened ("exited 3", "timed out after 30 s", "killed by Killed").
std::string Reap(pid_t pid, unsigned timeout_s) {
  // glibc 2.36's <sys/pidfd.h> lacks C++ linkage; use the system call directly.
  UniqueFd pfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  bool timed_out = false;
  if (pfd.valid()) {
    pollfd p{pfd.get(), POLLIN, 0};
    int n;
    do n = ::poll(&p, 1, static_cast<int>(timeout_s * 1000));
    while (n < 0 && errno == EINTR);
    if (n == 0) {
      timed_out = true;
      ::kill(pid, SIGKILL);
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) return "timed out after " + std::to_string(timeout_s) + " s";
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
    return "exited " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by ") + strsignal(WTERMSIG(status));
  return {};
}

}  // namespace

void HookTokens::Add(const std::string& token, std::string what) {
  MutexLock lock(&mu_);
  active_[token] = std::move(what);
}

void HookTokens::Remove(const std::string& token) {
  MutexLock lock(&mu_);
  active_.erase(token);
}

std::string HookTokens::Find(const std::string& token) const {
  MutexLock lock(&mu_);
  auto it = active_.find(token);
  return it == active_.end() ? std::string() : it->second;
}

Result HookRunner::Run(HookEvent e, Kind kind, const std::string& name, ResourceState state) {
  const bool pre = e == HookEvent::pre_offline || e == HookEvent::pre_online;
  const std::string object = std::string(ToString(kind)) + "/" + name;
  std::vector<std::string> hooks;
  if (Result safe = FindHooks(o_.dir, o_.owner, &hooks); !safe.ok()) {
    Log(std::string(ToString(e)) + " " + object + ": no hook run: " + safe.ToString());
    if (pre) return safe;
    return Result::Ok();
  }
  for (const std::string& hook : hooks) {
    const std::string token = NewToken();
    std::vector<std::string> env = {
        "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
        "LANG=C",
        "LC_ALL=C",
        "BLKGATE_EVENT=" + std::string(ToString(e)),
        "BLKGATE_KIND=" + std::string(ToString(kind)),
        "BLKGATE_NAME=" + name,
        "BLKGATE_OBJECT=" + object,
        "BLKGATE_STATE=" + std::string(ToString(state)),
        "BLKGATE_HOOK_TOKEN=" + token,
        "BLKGATE_SOCKET=" + o_.socket_path,
    };

    tokens_->Add(token, std::string(ToString(e)) + " hook " + hook + " of " + object);
    pid_t pid;
    if (int rc = Spawn(hook, env, &pid); rc != 0) {
      tokens_->Remove(token);
      Log("hook " + hook + ": cannot run: " + std::strerror(rc));
      if (pre) return Result::IoError("hook " + hook + " cannot run: " + std::strerror(rc));
      continue;
    }
    const std::string outcome = Reap(pid, o_.timeout_s);
    tokens_->Remove(token);
    if (!outcome.empty()) {
      Log("hook " + hook + " (" + std::string(ToString(e)) + " " + object + ") " + outcome);
      if (pre) return Result::DeviceInUse("hook " + hook + " " + outcome);
    }
  }
  return Result::Ok();
}

}  // namespace blkgate
