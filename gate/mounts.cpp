#include "mounts.h"

#include <libmount/libmount.h>
#include <sys/stat.h>

#include <cerrno>
#include <memory>

namespace blkgate {
namespace {

struct TableDeleter {
  void operator()(libmnt_table* t) const { mnt_unref_table(t); }
};
struct IterDeleter {
  void operator()(libmnt_iter* i) const { mnt_free_iter(i); }
};
using Table = std::unique_ptr<libmnt_table, TableDeleter>;
using Iter = std::unique_ptr<libmnt_iter, IterDeleter>;

Result LoadMountInfo(Table* out) {
  Table t(mnt_new_table());
  if (!t) return Result::FromErrno(ENOMEM, "mnt_new_table");
  if (int rc = mnt_table_parse_mtab(t.get(), nullptr); rc != 0)
    return Result::FromErrno(rc < 0 ? -rc : EIO, "parse the mount table");
  *out = std::move(t);
  return Result::Ok();
}

}  // namespace

Result MountsOfDevice(dev_t devno, std::vector<MountEntry>* out) {
  Table t;
  BLKGATE_TRY(LoadMountInfo(&t));
  Iter it(mnt_new_iter(MNT_ITER_BACKWARD));
  if (!it) return Result::FromErrno(ENOMEM, "mnt_new_iter");
  std::vector<MountEntry> found;
  libmnt_fs* fs = nullptr;
  while (mnt_table_next_fs(t.get(), it.get(), &fs) == 0) {
    if (mnt_fs_get_devno(fs) != devno) continue;
    const char* target = mnt_fs_get_target(fs);
    const char* source = mnt_fs_get_source(fs);
    const char* type = mnt_fs_get_fstype(fs);
    found.push_back({target ? target : "", source ? source : "", type ? type : ""});
  }
  *out = std::move(found);
  return Result::Ok();
}

Result SystemDevices(std::vector<dev_t>* out) {
  Table t;
  BLKGATE_TRY(LoadMountInfo(&t));
  std::vector<dev_t> devs;
  for (const char* target : {"/", "/boot", "/boot/efi"}) {
    if (libmnt_fs* fs = mnt_table_find_target(t.get(), target, MNT_ITER_BACKWARD)) {
      if (dev_t d = mnt_fs_get_devno(fs); d != 0) devs.push_back(d);
    }
  }
  Table swaps(mnt_new_table());
  if (swaps && mnt_table_parse_swaps(swaps.get(), nullptr) == 0) {
    Iter it(mnt_new_iter(MNT_ITER_FORWARD));
    libmnt_fs* fs = nullptr;
    while (it && mnt_table_next_fs(swaps.get(), it.get(), &fs) == 0) {
      const char* src = mnt_fs_get_source(fs);
      struct stat st;
      if (src && ::stat(src, &st) == 0 && S_ISBLK(st.st_mode)) devs.push_back(st.st_rdev);
    }
  }
  *out = std::move(devs);
  return Result::Ok();
}

}  // namespace blkgate
