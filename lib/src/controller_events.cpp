// lib/src/controller_events.cpp — the Controller's state-change events (events.h): the diff of
// the resource states a commit made, a hook's veto, the objects a start restored. Thread-safety:
// as Controller (the caller's control lock); the sink must not block.
#include <map>

#include "blkgate/controller.h"

namespace blkgate {
namespace {

// "kind/name" -> (kind, resource state) of every object of c.
struct Known {
  Kind kind;
  std::string name;
  std::string state;
};
std::map<std::string, Known> StatesOf(const Catalog& c) {
  std::map<std::string, Known> out;
  auto add = [&](Kind k, const std::string& n) {
    out[std::string(ToString(k)) + "/" + n] = {k, n, std::string(ToString(StateIn(c, k, n)))};
  };
  for (const auto& [n, d] : c.drives()) add(Kind::drive, n);
  for (const auto& [n, k] : c.disks()) add(Kind::disk, n);
  for (const auto& [n, v] : c.volumes()) add(Kind::volume, n);
  return out;
}

constexpr std::string_view kAbsent = "absent";

}  // namespace

void Controller::Emit(Event e) {
  if (events_) events_->Publish(std::move(e));
}

void Controller::EmitChanges(const Catalog& before) {
  const std::map<std::string, Known> was = StatesOf(before);
  const std::map<std::string, Known> now = StatesOf(*c_);
  auto event = [&](const Known& k, std::string_view old_state, std::string_view new_state) {
    Event e;
    e.kind = std::string(ToString(k.kind));
    e.name = k.name;
    e.old_state = std::string(old_state);
    e.new_state = std::string(new_state);
    e.cause = cause_;
    e.op = cause_op_;
    Emit(std::move(e));
  };
  // Drives, disks, volumes in name order (the map's); deletions after the changes.
  for (const auto& [key, k] : now) {
    auto it = was.find(key);
    if (it == was.end()) {
      event(k, kAbsent, k.state);
    } else if (it->second.state != k.state) {
      event(k, it->second.state, k.state);
    }
  }
  for (const auto& [key, k] : was)
    if (!now.count(key)) event(k, k.state, kAbsent);
}

void Controller::EmitVeto(HookEvent e, Kind kind, const std::string& name, const Result& veto) {
  if (!events_) return;
  Event ev;
  ev.kind = std::string(ToString(kind));
  ev.name = name;
  ev.old_state = ev.new_state = std::string(ToString(StateOf(kind, name)));
  ev.cause = EventCause::hook_veto;
  ev.op = cause_op_;
  const bool offline = e == HookEvent::pre_offline || e == HookEvent::post_offline;
  ev.wanted = offline ? "offline" : "online";
  ev.detail = veto.ToString();
  Emit(std::move(ev));
}

void Controller::EmitRestored() {
  if (!events_) return;
  for (const auto& [key, k] : StatesOf(*c_)) {
    Event e;
    e.kind = std::string(ToString(k.kind));
    e.name = k.name;
    e.old_state = "unknown";
    e.new_state = k.state;
    e.cause = EventCause::recovery;
    if (k.kind == Kind::volume) {
      const DeviceInfo info = Describe(*c_->volume(k.name));
      e.detail = info.running         ? (info.recovered ? "device " + info.device + " recovered"
                                                        : "device " + info.device + " created")
                 : info.error.empty() ? "no device"
                                      : info.error;
    } else if (k.kind == Kind::drive && IsCorrupt(k.name)) {
      e.detail = "cache-corrupt: its backing store changed";
    }
    Emit(std::move(e));
  }
}

}  // namespace blkgate
