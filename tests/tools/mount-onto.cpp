// tests/tools/mount-onto — proves that the daemon's mount lands on the directory it opened,
// not on a path looked up again (gate/access_path.h; tests/e2e/hardening/
// mount-onto-opened-dir.sh runs it in the VM).
//
//   mount-onto DEVICE DIR SWAP LINK
//
// 1. opens DIR as the daemon does (OpenAccessPath: no symbolic link at any component);
// 2. swaps SWAP (DIR itself or one of its parents) as its owner could: renames it to
//    SWAP.moved and puts a symbolic link to LINK in its place, so DIR now leads elsewhere;
// 3. mounts DEVICE onto the opened directory (MountOnto) and prints "onto: MOUNTPOINT", the
//    mount point of the new mount as /proc/self/mountinfo names it;
// 4. tries the daemon's whole mount of DIR (MountAtAccessPath) and prints "again: RESULT"
//    (the result's name: permission-denied expected);
// 5. detaches what step 3 mounted.
// Exit status 0 when every step ran, 1 when one failed (a line says which), 2 for bad usage.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "access_path.h"

using namespace blkgate;

namespace {

// Field 5 (the mount point) of the mountinfo line of mount `id`, or "".
std::string MountPointOf(std::uint64_t id) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::uint64_t mnt_id = 0, parent = 0;
    std::string devno, root, point;
    if (f >> mnt_id >> parent >> devno >> root >> point && mnt_id == id) return point;
  }
  return "";
}

int Fail(const std::string& what, const Result& r) {
  std::printf("%s: %s\n", what.c_str(), r.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: mount-onto DEVICE DIR SWAP LINK\n");
    return 2;
  }
  const std::string device = argv[1], dir = argv[2], swap = argv[3], link = argv[4];
  UniqueFd fd;
  if (Result r = OpenAccessPath(dir, O_PATH, &fd); !r.ok()) return Fail("open", r);
  if (::rename(swap.c_str(), (swap + ".moved").c_str()) != 0 ||
      ::symlink(link.c_str(), swap.c_str()) != 0)
    return Fail("swap", Result::FromErrno(errno, swap));
  UniqueFd mnt;
  std::string type;
  if (Result r = MountOnto(fd.get(), device, MountOptions{}, &mnt, &type); !r.ok())
    return Fail("mount", r);
  struct statx st;
  if (::statx(mnt.get(), "", AT_EMPTY_PATH, STATX_MNT_ID, &st) != 0)
    return Fail("statx", Result::FromErrno(errno, "mount"));
  std::printf("onto: %s\n", MountPointOf(st.stx_mnt_id).c_str());
  std::string again_type;
  Result again = MountAtAccessPath(device, AccessPath{dir, {}}, &again_type);
  std::printf("again: %s\n", std::string(again.name()).c_str());
  const std::string self = "/proc/self/fd/" + std::to_string(mnt.get());
  if (::umount2(self.c_str(), MNT_DETACH) != 0)
    return Fail("detach", Result::FromErrno(errno, "umount"));
  return 0;
}
