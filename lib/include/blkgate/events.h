// blkgate/events.h — state-change events: what `blkgatectl monitor` prints, one per change.
//
// The Controller produces them (lib/src/controller_events.cpp) where it commits a transaction:
// every object whose resource state differs between the catalog before and after the commit
// (created and deleted objects included, as "absent"), each with its cause. A pre-* hook that
// vetoes a transition is an event too (old == new: nothing changed; `wanted` says what was
// refused), and so is every object the daemon's start restored (old "unknown").
// The daemon fans them out to subscribers (gate/event_bus.h); the wire form is one JSON line,
// {"v": 1, "event": {...}} (protocol.h EncodeEvent), described in docs/control-protocol.md.
//
// Thread-safety: plain values. EventSink::Publish is called under the daemon's control lock
// and must not block.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "blkgate/result.h"

namespace blkgate {

// Why a state changed.
enum class EventCause : std::uint8_t {
  call,           // a control call (`op` names it)
  backend_error,  // the data path saw a drive's backing I/O fail; the drive is marked failed
  hook_veto,      // a pre-* hook refused the call's transition (nothing changed)
  recovery,       // the daemon's start restored the object from its state file
};
// "call", "backend-error", "hook-veto", "recovery".
std::string_view ToString(EventCause c) noexcept;
Result ParseEventCause(std::string_view s, EventCause* out);

struct Event {
  std::uint64_t seq = 0;     // 1, 2, ... per daemon run, set by the bus; gaps: events lost
  std::int64_t time_ms = 0;  // wall clock (ms since the epoch), set by the bus
  std::string kind;          // "drive", "disk", "volume"
  std::string name;
  std::string old_state;  // a resource state, "absent" (created) or "unknown" (start)
  std::string new_state;  // a resource state, or "absent" (deleted)
  EventCause cause = EventCause::call;
  std::string op;      // call, hook_veto: the operation ("volume.offline")
  std::string wanted;  // hook_veto: the state that was refused
  std::string detail;  // free text: the veto's message, the recovered device...
};

// The event as the protocol carries it (the member "type" is "state").
nlohmann::json ToJson(const Event& e);
// invalid_argument naming the member when one is missing or mistyped.
Result FromJson(const nlohmann::json& j, Event* out);

// The "lost" notice a subscriber gets in place of events it was too slow to take:
// {"type": "lost", "count": N, "seq": the last lost event's seq}.
nlohmann::json LostNotice(std::uint64_t count, std::uint64_t last_seq);

// Where the Controller sends its events. Implementations must not block (a bounded queue per
// subscriber; a full one loses events and says so, see gate/event_bus.h).
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void Publish(Event e) = 0;
};

}  // namespace blkgate
