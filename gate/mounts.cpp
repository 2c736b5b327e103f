#include "mounts.h"

#include <libmount/libmount.h>
#include <sys/stat.h>

#include <cerrno>
#include <memory>

#include "blkgate/mutex.h"

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

struct MonitorDeleter {
  void operator()(libmnt_monitor* m) const { mnt_unref_monitor(m); }
};
using Monitor = std::unique_ptr<libmnt_monitor, MonitorDeleter>;

Result ParseMountInfo(Table* out) {
  Table t(mnt_new_table());
  if (!t) return Result::FromErrno(ENOMEM, "mnt_new_table");
  // The kernel's table only (not utab's userspace options: nothing here needs them).
  if (int rc = mnt_table_parse_file(t.get(), "/proc/self/mountinfo"); rc != 0)
    return Result::FromErrno(rc < 0 ? -rc : EIO, "parse /proc/self/mountinfo");
  *out = std::move(t);
  return Result::Ok();
}

// The parsed mount table, parsed again only after the kernel reports a change of this mount
// namespace (libmount's kernel monitor: /proc/self/mountinfo is pollable). A toggle used to
// parse it 4 times, about a quarter of the daemon's CPU time per offline + online.
// Ordering: pending change events are consumed *before* parsing, so a change made after the
// parse always leaves an event for the next call; our own mount/umount calls have raised their
// event by the time they return.
class MountTableCache {
 public:
  // Thread-safe: runs fn(table) under the cache's lock (libmount's reference counts are not
  // atomic, so the table never leaves it).
  template <typename Fn>
  Result Use(Fn&& fn) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    if (!monitor_tried_) {
      monitor_tried_ = true;
      Monitor m(mnt_new_monitor());
      if (m && mnt_monitor_enable_kernel(m.get(), 1) == 0 && mnt_monitor_get_fd(m.get()) >= 0)
        monitor_ = std::move(m);
    }
    bool changed = !table_ || !monitor_;  // no monitor: parse every time
    if (monitor_) {
      const char* file = nullptr;
      int type = 0;
      int rc;
      while ((rc = mnt_monitor_next_change(monitor_.get(), &file, &type)) == 0) changed = true;
      if (rc < 0) changed = true;  // cannot tell: parse
    }
    if (changed) {
      table_.reset();  // the events are consumed: if this parse fails, the next call parses
      BLKGATE_TRY(ParseMountInfo(&table_));
    }
    return fn(table_.get());
  }

 private:
  Mutex mu_;
  bool monitor_tried_ GUARDED_BY(mu_) = false;
  Monitor monitor_ GUARDED_BY(mu_);
  Table table_ GUARDED_BY(mu_);
};

MountTableCache& Cache() {
  static MountTableCache c;
  return c;
}

}  // namespace

Result MountsOfDevice(dev_t devno, std::vector<MountEntry>* out) {
  return Cache().Use([&](libmnt_table* t) {
    Iter it(mnt_new_iter(MNT_ITER_BACKWARD));
    if (!it) return Result::FromErrno(ENOMEM, "mnt_new_iter");
    std::vector<MountEntry> found;
    libmnt_fs* fs = nullptr;
    while (mnt_table_next_fs(t, it.get(), &fs) == 0) {
      if (mnt_fs_get_devno(fs) != devno) continue;
      const char* target = mnt_fs_get_target(fs);
      const char* source = mnt_fs_get_source(fs);
      const char* type = mnt_fs_get_fstype(fs);
      found.push_back({target ? target : "", source ? source : "", type ? type : ""});
    }
    *out = std::move(found);
    return Result::Ok();
  });
}

Result SystemDevices(std::vector<dev_t>* out) {
  std::vector<dev_t> devs;
  BLKGATE_TRY(Cache().Use([&](libmnt_table* t) {
    for (const char* target : {"/", "/boot", "/boot/efi"}) {
      if (libmnt_fs* fs = mnt_table_find_target(t, target, MNT_ITER_BACKWARD)) {
        if (dev_t d = mnt_fs_get_devno(fs); d != 0) devs.push_back(d);
      }
    }
    return Result::Ok();
  }));
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
