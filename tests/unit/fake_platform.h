// tests/unit/fake_platform.h — the Controller's world without a kernel: mounts, claims, gate
// words, hooks, backing files and devices as maps, every effect logged in order. For the
// controller, views and registry tests.
#pragma once

#include <algorithm>
#include <cerrno>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "blkgate/controller.h"

namespace blkgate::testing {

struct FakePlatform : Platform {
  std::map<std::string, std::vector<std::string>> mounts;  // volume -> targets
  std::set<std::string> busy;                              // targets with open files
  std::set<std::string> no_shutdown;                       // targets without FS shutdown
  std::set<std::string> dirs{"/mnt/a", "/mnt/b", "/mnt/c"};
  std::set<std::string> unmountable;           // Mount() fails there
  std::set<std::string> symlinked;             // a component became a symbolic link: refused
  std::map<std::string, std::string> options;  // target -> the options it was mounted with
  std::set<std::string> claimed;
  std::set<std::string> system;
  std::map<std::string, std::uint64_t> words;
  std::map<std::string, int> waits;
  std::map<std::string, bool> ro;
  std::vector<std::string> flushed;
  std::vector<std::string> log;  // effects in order
  // Backing stores by path: identity and size. A path not here does not exist.
  std::map<std::string, std::pair<DriveIdentity, std::uint64_t>> files;
  std::set<std::string> uncreatable;  // CreateBackingFile fails there
  // Devices: volume -> ublk id; the next id handed out; volumes whose start fails.
  std::map<std::string, int> devices;
  int next_id = 0;
  std::set<std::string> unstartable;
  std::set<std::string> recovered;       // volumes whose device a previous daemon left (recovered)
  std::set<std::string> held;            // volumes whose device someone holds open exclusively
  std::string veto;                      // "event kind/name" to veto
  Code veto_code = Code::device_in_use;  // what the veto says (permission_denied: unsafe hook)
  std::function<void(const std::string&)> on_hook;   // called with "event kind/name", if set
  std::function<void(const std::string&)> on_start;  // called with the volume, if set
  std::function<void(const std::string&)> on_stop;   // called with the volume, if set
  std::vector<std::string> hooks;
  bool fail_persist = false;
  int persists = 0;
  std::vector<bool> shutdowns;  // RequestShutdown calls: keep_devices of each

  std::string owner(const std::string& target) {
    for (auto& [v, ts] : mounts)
      for (auto& t : ts)
        if (t == target) return v;
    return "";
  }
  Result ListMounts(const Volume& v, std::vector<std::string>* t) override {
    *t = mounts[v.name];
    return Result::Ok();
  }
  Result ProbeBusy(const std::string& t) override {
    return busy.count(t) ? Result::DeviceInUse("busy") : Result::Ok();
  }
  Result Unmount(const Volume& v, const std::string& t) override {
    if (owner(t) != v.name) return Result::InvalidState(t + " is not " + v.name + "'s mount");
    if (busy.count(t)) return Result::DeviceInUse(t + " busy");
    auto& ts = mounts[v.name];
    ts.erase(std::remove(ts.begin(), ts.end(), t), ts.end());
    options.erase(t);
    log.push_back("umount " + t);
    return Result::Ok();
  }
  Result ForceUnmount(const Volume& v, const std::string& t) override {
    if (no_shutdown.count(t)) return Result::NotSupported("no shutdown");
    busy.erase(t);
    log.push_back("shutdown " + t);
    return Unmount(v, t);
  }
  Result Mount(const Volume& v, const AccessPath& t) override {
    if (claimed.count(v.name)) return Result::DeviceInUse("claimed");
    BLKGATE_TRY(CheckDirectory(t.path));
    if (unmountable.count(t.path)) return Result::IoError("mount failed");
    mounts[v.name].push_back(t.path);
    options[t.path] = ToString(t.options);
    log.push_back("mount " + v.name + " " + t.path);
    return Result::Ok();
  }
  Result CheckDirectory(const std::string& d) override {
    if (d.empty() || d[0] != '/') return Result::InvalidArgument("relative");
    if (symlinked.count(d)) return Result::PermissionDenied(d + ": a component is a symlink");
    return dirs.count(d) ? Result::Ok() : Result::NotFound(d);
  }
  void Claim(const Volume& v, bool hold) override {
    if (hold)
      claimed.insert(v.name);
    else
      claimed.erase(v.name);
  }
  void PublishGate(const Volume& v, std::uint64_t w, bool wait) override {
    words[v.name] = w;
    if (wait) waits[v.name]++;
    log.push_back("gate " + v.name);
  }
  Result SetDeviceReadOnly(const Volume& v, bool r) override {
    ro[v.name] = r;
    return Result::Ok();
  }
  Result FlushDrive(const Drive& d) override {
    flushed.push_back(d.name);
    log.push_back("flush " + d.name);
    return Result::Ok();
  }
  Result InspectBacking(const std::string& path, DriveIdentity* id, std::uint64_t* size) override {
    auto it = files.find(path);
    if (it == files.end()) return Result::NotFound(path + " does not exist");
    *id = it->second.first;
    *size = it->second.second;
    return Result::Ok();
  }
  Result CreateBackingFile(const std::string& path, std::uint64_t size) override {
    if (files.count(path)) return Result::AlreadyExists(path);
    if (uncreatable.count(path)) return Result::FromErrno(EACCES, "create " + path);
    files[path] = {DriveIdentity{1, 1000 + files.size(), false}, size};
    log.push_back("create " + path);
    return Result::Ok();
  }
  void RemoveBackingFile(const std::string& path) override {
    files.erase(path);
    log.push_back("remove " + path);
  }
  Result StartDevice(const Catalog& c, const Volume& v, int* dev_id) override {
    if (unstartable.count(v.name)) return Result::IoError("ADD_DEV: no");
    words[v.name] = EffectiveGateWord(c, v);
    *dev_id = v.dev_id >= 0 ? v.dev_id : next_id++;
    devices[v.name] = *dev_id;
    log.push_back("start " + v.name);
    if (on_start) on_start(v.name);
    return Result::Ok();
  }
  void StopDevice(const Volume& v) override {
    devices.erase(v.name);
    claimed.erase(v.name);
    log.push_back("stop " + v.name);
    if (on_stop) on_stop(v.name);
  }
  Result ProbeDeviceUnused(const Volume& v) override {
    if (!mounts[v.name].empty()) return Result::DeviceInUse(v.name + " is mounted");
    if (held.count(v.name) || claimed.count(v.name)) return Result::DeviceInUse(v.name + " held");
    return Result::Ok();
  }
  DeviceInfo Describe(const Volume& v) override {
    DeviceInfo info;
    info.queues = v.queues ? v.queues : 2;
    auto it = devices.find(v.name);
    if (it == devices.end()) return info;
    info.running = true;
    info.dev_id = it->second;
    info.device = "/dev/ublkb" + std::to_string(it->second);
    info.recovery = "hold-reissue";
    info.recovered = recovered.count(v.name) != 0;
    info.mounts = mounts[v.name];
    info.stats = {{"reads", 1}, {"writes", 2}};
    return info;
  }
  // Per volume, the samples SampleIo returns (default: one queue, all zero).
  std::map<std::string, std::vector<QueueIoSample>> io;
  Result SampleIo(const Volume& v, std::vector<QueueIoSample>* queues) override {
    if (!devices.count(v.name)) return Result::NotReady("volume '" + v.name + "' is not running");
    auto it = io.find(v.name);
    *queues = it == io.end() ? std::vector<QueueIoSample>(1) : it->second;
    return Result::Ok();
  }
  bool IsSystemDevice(const Volume& v) override { return system.count(v.name) != 0; }
  Result RunHooks(HookEvent e, Kind k, const std::string& n, ResourceState) override {
    std::string what = std::string(ToString(e)) + " " + std::string(ToString(k)) + "/" + n;
    hooks.push_back(what);
    if (on_hook) on_hook(what);
    if (what == veto) return Result::Error(veto_code, "hook 'x' exited 1");
    return Result::Ok();
  }
  Result Persist(const Catalog&) override {
    if (fail_persist) return Result::FromErrno(ENOSPC, "write state");
    ++persists;
    return Result::Ok();
  }
  Result RequestShutdown(bool keep_devices) override {
    shutdowns.push_back(keep_devices);
    log.push_back(keep_devices ? "shutdown keep-devices" : "shutdown");
    return Result::Ok();
  }
};

}  // namespace blkgate::testing
