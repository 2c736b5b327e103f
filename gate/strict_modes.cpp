// gate/strict_modes.cpp — the checks of strict_modes.h.
#include "strict_modes.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <vector>

namespace blkgate {
namespace {

// Symlinks followed on one path at most (the kernel's own limit).
constexpr int kMaxLinks = 40;

bool Trusted(uid_t uid, uid_t owner) {
  return uid == 0 || uid == owner;
}

std::string Octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

Result NotTrustedOwner(const std::string& path, uid_t uid, const std::string& context) {
  return Result::PermissionDenied(context + path + " is owned by uid " + std::to_string(uid) +
                                  ", not root: only root may be able to change it (chown root " +
                                  path + ")");
}

// `context` prefixes messages about a path on the way ("state dir /x/state: ").
Result JudgeDirectory(const struct stat& st, const std::string& path, bool target, uid_t owner,
                      const std::string& context) {
  if (!S_ISDIR(st.st_mode)) return Result::InvalidArgument(context + path + " is not a directory");
  if (!Trusted(st.st_uid, owner)) return NotTrustedOwner(path, st.st_uid, context);
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) == 0) return Result::Ok();
  if (!target && (st.st_mode & S_ISVTX)) return Result::Ok();  // /tmp: others cannot rename it
  return Result::PermissionDenied(context + path + (target ? "" : ", a directory above it,") +
                                  " is writable by group or others (mode " + Octal(st.st_mode) +
                                  "): chmod go-w " + path);
}

// Pushes the components of `path` onto `todo` so that the first is on top.
void PushComponents(const std::string& path, std::vector<std::string>* todo) {
  std::vector<std::string> parts;
  std::size_t i = 0;
  while (i < path.size()) {
    std::size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) parts.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  todo->insert(todo->end(), parts.rbegin(), parts.rend());
}

std::string Parent(const std::string& dir) {
  const std::size_t slash = dir.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : dir.substr(0, slash);
}

Result Lstat(const std::string& path, struct stat* st) {
  if (::lstat(path.c_str(), st) == 0) return Result::Ok();
  return Result::FromErrno(errno, "lstat " + path);
}

// Walks to `dir` as CheckSafeDirectory says; the directory reached at the end is judged as the
// target, or (target false) as one above it. Messages name `what` and `named` (the path the
// caller asked about): "state dir /x/state is ...", "state dir /x/state: /x is ...".
Result Walk(const std::string& dir, uid_t owner, bool target, std::string_view what,
            const std::string& named) {
  const std::string context = std::string(what) + " " + named + ": ";
  // Resolve by hand, one component at a time: every directory the walk descends from (the
  // holder of each symlink among them) is judged as one above the target; the directory reached
  // at the end, as the target.
  std::vector<std::string> todo;
  PushComponents(dir, &todo);
  std::string cur = "/";
  struct stat st;
  int links = 0;
  while (!todo.empty()) {
    const std::string comp = std::move(todo.back());
    todo.pop_back();
    if (comp == ".") continue;
    if (comp == "..") {  // the parent was judged when the walk descended from it
      cur = Parent(cur);
      continue;
    }
    BLKGATE_TRY(Lstat(cur, &st));
    BLKGATE_TRY(JudgeDirectory(st, cur, false, owner, context));
    const std::string next = cur == "/" ? "/" + comp : cur + "/" + comp;
    BLKGATE_TRY(Lstat(next, &st));
    if (S_ISLNK(st.st_mode)) {
      if (++links > kMaxLinks)
        return Result::InvalidArgument(context + "too many symbolic links at " + next);
      if (!Trusted(st.st_uid, owner)) return NotTrustedOwner(next, st.st_uid, context);
      std::vector<char> buf(static_cast<std::size_t>(st.st_size > 0 ? st.st_size : 255) + 1);
      const ssize_t n = ::readlink(next.c_str(), buf.data(), buf.size());
      if (n < 0) return Result::FromErrno(errno, "readlink " + next);
      if (static_cast<std::size_t>(n) >= buf.size())
        return Result::IoError(context + "symbolic link " + next + " changed while read");
      const std::string target_path(buf.data(), static_cast<std::size_t>(n));
      if (!target_path.empty() && target_path[0] == '/') cur = "/";
      PushComponents(target_path, &todo);
      continue;
    }
    cur = next;
  }
  BLKGATE_TRY(Lstat(cur, &st));
  return JudgeDirectory(st, cur, target, owner, cur == named ? std::string(what) + " " : context);
}

Result CheckAbsolute(const std::string& dir, std::string_view what) {
  if (!dir.empty() && dir[0] == '/') return Result::Ok();
  return Result::InvalidArgument(std::string(what) + " must be an absolute path: '" + dir + "'");
}

}  // namespace

Result CheckSafeDirectory(const std::string& dir, uid_t owner, std::string_view what) {
  BLKGATE_TRY(CheckAbsolute(dir, what));
  return Walk(dir, owner, true, what, dir);
}

Result CheckSafeParent(const std::string& dir, uid_t owner, std::string_view what) {
  BLKGATE_TRY(CheckAbsolute(dir, what));
  std::string trimmed = dir;
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
  return Walk(Parent(trimmed), owner, false, what, dir);
}

Result JudgeHook(const struct stat& st, const std::string& path, uid_t owner) {
  if (S_ISLNK(st.st_mode))
    return Result::PermissionDenied("hook " + path +
                                    " is a symbolic link: a hook must be a regular file");
  if (!S_ISREG(st.st_mode))
    return Result::PermissionDenied("hook " + path + " is not a regular file");
  if (!Trusted(st.st_uid, owner)) return NotTrustedOwner(path, st.st_uid, "hook ");
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    return Result::PermissionDenied("hook " + path + " is writable by group or others (mode " +
                                    Octal(st.st_mode) + "): chmod go-w " + path);
  return Result::Ok();
}

}  // namespace blkgate
