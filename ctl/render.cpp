// ctl/render.cpp — blkgatectl's output: a reply (or a refusal before any call) as the human
// text of its operation's printer (ops::Printer: tables, "key: value" lists, a filled-in line)
// or as one JSON line (--json), with the exit status and notes. Reply data is read
// defensively: a missing or mistyped field prints as "?", and a reply that cannot be printed
// at all is the daemon's protocol-error. Pure; no I/O.
#include <algorithm>
#include <exception>
#include <optional>

#include "blkgate/ops.h"
#include "blkgate/size.h"
#include "cli.h"
#include "live.h"

namespace blkgate::ctl {
namespace {

using nlohmann::json;

const json* Field(const json& j, std::string_view key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(std::string(key));
  return it == j.end() ? nullptr : &*it;
}

// A scalar or list as text: strings as they are, null "-", bools yes/no, lists comma-joined.
std::string Text(const json* v) {
  if (v == nullptr) return "?";
  switch (v->type()) {
    case json::value_t::string:
      return v->get_ref<const std::string&>();
    case json::value_t::null:
      return "-";
    case json::value_t::boolean:
      return v->get<bool>() ? "yes" : "no";
    case json::value_t::number_unsigned:
      return std::to_string(v->get<std::uint64_t>());
    case json::value_t::number_integer:
      return std::to_string(v->get<std::int64_t>());
    case json::value_t::array: {
      if (v->empty()) return "-";
      std::string s;
      for (const json& e : *v) {
        if (!s.empty()) s += ",";
        s += Text(&e);
      }
      return s;
    }
    default:
      return v->dump(-1, ' ', false, json::error_handler_t::replace);
  }
}

std::string Text(const json& j, std::string_view key) {
  return Text(Field(j, key));
}

// A non-negative integer of either JSON integer type.
std::optional<std::uint64_t> AsU64(const json* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_number_unsigned()) return v->get<std::uint64_t>();
  if (v->is_number_integer() && v->get<std::int64_t>() >= 0) {
    return static_cast<std::uint64_t>(v->get<std::int64_t>());
  }
  return std::nullopt;
}

// Byte counts as "64M"; anything else as Text().
std::string SizeText(const json& j, std::string_view key) {
  const json* v = Field(j, key);
  if (auto n = AsU64(v)) return FormatSize(*n);
  return Text(v);
}

}  // namespace

std::string Table(const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width(header.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (std::size_t c = 0; c < row.size() && c < width.size(); ++c) {
      width[c] = std::max(width[c], row[c].size());
    }
  };
  measure(header);
  for (const auto& r : rows) measure(r);
  std::string s;
  auto emit = [&](const std::vector<std::string>& row) {
    std::string line;
    for (std::size_t c = 0; c < row.size() && c < width.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line += std::string(width[c] - row[c].size() + 2, ' ');
    }
    s += line + "\n";
  };
  emit(header);
  for (const auto& r : rows) emit(r);
  return s;
}

namespace {

// The array data[key], or an empty one.
const json& ArrayOf(const json& data, std::string_view key) {
  static const json empty = json::array();
  const json* v = Field(data, key);
  return v != nullptr && v->is_array() ? *v : empty;
}

std::string DriveTable(const json& drives) {
  std::vector<std::vector<std::string>> rows;
  for (const json& d : drives) {
    rows.push_back({Text(d, "name"), Text(d, "path"), SizeText(d, "size"), Text(d, "status"),
                    Text(d, "disk")});
  }
  return Table({"NAME", "PATH", "SIZE", "STATUS", "DISK"}, rows);
}

std::string DiskTable(const json& disks) {
  std::vector<std::vector<std::string>> rows;
  for (const json& d : disks) {
    rows.push_back({Text(d, "name"), SizeText(d, "size"), Text(d, "state"), Text(d, "read_only"),
                    Text(d, "drives"), Text(d, "volumes")});
  }
  return Table({"NAME", "SIZE", "STATE", "READ-ONLY", "DRIVES", "VOLUMES"}, rows);
}

std::string VolumeTable(const json& volumes) {
  std::vector<std::vector<std::string>> rows;
  for (const json& v : volumes) {
    rows.push_back({Text(v, "name"), Text(v, "device"), SizeText(v, "size"), Text(v, "state"),
                    Text(v, "disk"), SizeText(v, "offset"), Text(v, "mounts")});
  }
  return Table({"NAME", "DEVICE", "SIZE", "STATE", "DISK", "OFFSET", "MOUNTS"}, rows);
}

// One access path of a volume view: "DIR (OPTIONS)".
std::string AccessPathText(const json& p) {
  return Text(p, "path") + " (" + Text(p, "options") + ")";
}

// `key: value` lines: the known keys in `order` first, then any others by name. Objects nest
// as "outer.inner"; sizes print as "64M (67108864 bytes)".
std::string Show(const json& obj, const std::vector<std::string_view>& order,
                 const std::string& prefix = "") {
  if (!obj.is_object()) return prefix + (prefix.empty() ? "" : ": ") + Text(&obj) + "\n";
  std::vector<std::string> keys;
  for (std::string_view k : order) {
    if (obj.contains(std::string(k))) keys.emplace_back(k);
  }
  for (const auto& [k, v] : obj.items()) {
    if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
  }
  static const std::vector<std::string_view> kStatsOrder = {
      "reads",        "writes",  "flushes",        "discards",
      "write_zeroes", "refused", "backend_errors", "parked"};
  std::string s;
  for (const std::string& k : keys) {
    const json& v = obj.at(k);
    const std::string name = prefix.empty() ? k : prefix + "." + k;
    if (v.is_object()) {
      s += Show(v, k == "stats" ? kStatsOrder : std::vector<std::string_view>{}, name);
    } else if (k == "access_paths" && !v.empty()) {
      std::string paths;
      for (const json& p : v) paths += (paths.empty() ? "" : ", ") + AccessPathText(p);
      s += name + ": " + paths + "\n";
    } else if (auto bytes = AsU64(&v); bytes && (k == "size" || k == "offset")) {
      const std::uint64_t n = *bytes;
      const std::string h = FormatSize(n);
      s += name + ": " + h + (h == std::to_string(n) ? "" : " (" + std::to_string(n) + " bytes)") +
           "\n";
    } else {
      s += name + ": " + Text(&v) + "\n";
    }
  }
  return s;
}

const std::vector<std::string_view> kDriveOrder = {"name", "path", "size", "status", "disk"};
const std::vector<std::string_view> kDiskOrder = {"name",  "drives",    "size",
                                                  "state", "read_only", "volumes"};
const std::vector<std::string_view> kVolumeOrder = {
    "name",         "disk",      "offset",   "size",       "device",  "dev_id", "state",
    "offline_by",   "read_only", "queues",   "depth",      "backend", "system", "dismount",
    "access_paths", "mounts",    "recovery", "recoveries", "stats"};

// "{field}" replaced by the reply's field, else the request's argument.
std::string Fill(std::string_view tmpl, const json& data, const json& args) {
  std::string s;
  for (std::size_t i = 0; i < tmpl.size();) {
    const std::size_t open = tmpl.find('{', i);
    const std::size_t close = open == std::string_view::npos ? open : tmpl.find('}', open);
    if (close == std::string_view::npos) {
      s += tmpl.substr(i);
      break;
    }
    s += tmpl.substr(i, open - i);
    const std::string key(tmpl.substr(open + 1, close - open - 1));
    s += Field(data, key) ? Text(data, key) : Text(args, key);
    i = close + 1;
  }
  return s;
}

std::string Human(const ops::OpSpec& op, const protocol::Request& req, const json& data,
                  const json& local) {
  // The object's name: from the reply, else from the request.
  std::string name = Text(data, "name");
  if (name == "?") name = Text(req.args, "name");
  switch (op.printer) {
    case ops::Printer::ping:
      return "blkgate " + Text(data, "version") + ", pid " + Text(data, "pid") + "\n";
    case ops::Printer::list:
      if (req.args.value("names", false)) {
        std::string s;
        for (const char* kind : {"drive", "disk", "volume"})
          for (const json& o : ArrayOf(data, std::string(kind) + "s"))
            s += std::string(kind) + "/" + Text(o, "name") + "\n";
        return s;
      }
      return DriveTable(ArrayOf(data, "drives")) + "\n" + DiskTable(ArrayOf(data, "disks")) + "\n" +
             VolumeTable(ArrayOf(data, "volumes"));
    case ops::Printer::drives:
      return DriveTable(ArrayOf(data, "drives"));
    case ops::Printer::disks:
      return DiskTable(ArrayOf(data, "disks"));
    case ops::Printer::volumes:
      return VolumeTable(ArrayOf(data, "volumes"));
    case ops::Printer::show_drive:
      return Show(data, kDriveOrder);
    case ops::Printer::show_disk:
      return Show(data, kDiskOrder);
    case ops::Printer::show_volume:
      return Show(data, kVolumeOrder);
    case ops::Printer::paths: {
      std::string s;
      for (const json& p : ArrayOf(data, "access_paths")) s += AccessPathText(p) + "\n";
      return s;
    }
    case ops::Printer::changes: {
      const json& changed = ArrayOf(data, "changed");
      if (changed.empty()) return "nothing changed\n";
      std::string s;
      for (const json& c : changed) {
        s += Text(c, "kind") + " " + Text(c, "name") + " is " + Text(c, "state") + "\n";
      }
      return s;
    }
    case ops::Printer::results: {
      std::vector<std::vector<std::string>> rows;
      for (const json& c : ArrayOf(data, "results"))
        rows.push_back({Text(c, "name"), Text(c, "exit"), Text(c, "meaning")});
      return Table({"NAME", "EXIT", "MEANING"}, rows);
    }
    case ops::Printer::line:
      return Fill(op.done, data, req.args) + "\n";
    case ops::Printer::added:
      return Fill(op.done, data, req.args) +
             (Field(data, "size") ? ", " + SizeText(data, "size") : "") + "\n";
    case ops::Printer::read_only: {
      const json* ro = Field(data, "read_only");
      const bool on =
          ro != nullptr && ro->is_boolean() ? ro->get<bool>() : req.args.value("read_only", false);
      return "disk " + name + " is " + (on ? "read-only" : "writable") + "\n";
    }
    case ops::Printer::created: {
      const json* dev = Field(data, "device");
      return "volume " + name + " created: " +
             (dev != nullptr && dev->is_string() ? Text(dev)
                                                 : "no device (" + Text(data, "state") + ")") +
             "\n";
    }
    case ops::Printer::dismounted: {
      const bool permanent = Field(data, "dismount") ? Text(data, "dismount") == "permanent"
                                                     : Text(req.args, "permanent") == "yes";
      return "volume " + name + " dismounted" + (permanent ? " permanently" : "") + "\n";
    }
    case ops::Printer::stats:
      return local.value("prometheus", false) ? PrometheusText(data)
                                              : StatsTable(StatsReport(nullptr, data));
    case ops::Printer::events:  // the subscription's own reply: the events are RunLive's
      return "";
    case ops::Printer::mounted: {
      const json& mounts = ArrayOf(data, "mounts");
      return "volume " + name + " mounted" + (mounts.empty() ? "" : " on " + Text(&mounts)) + "\n";
    }
  }
  return data.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string JsonLine(const Result& r, const json& data, const std::vector<std::string>& notes) {
  nlohmann::ordered_json o;
  o["result"] = std::string(r.name());
  o["message"] = r.message();
  if (!notes.empty()) o["notes"] = notes;
  if (data.is_object()) {
    for (const auto& [k, v] : data.items()) {
      if (k != "result" && k != "message") o[k] = v;
    }
  }
  return o.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace

Output Render(const Invocation& inv, const Result& r, const nlohmann::json& data,
              const std::vector<std::string>& notes) {
  Output o;
  try {
    if (inv.action == Action::help) {
      o.out = inv.help;
      return o;
    }
    const bool call = inv.action == Action::call || inv.action == Action::local;
    const Result& res = call ? r : inv.error;
    const json& d = call ? data : json::object();
    o.status = CodeExitStatus(res.code());
    if (!res.ok()) {
      o.err = std::string(kProgram) + ": " + std::string(res.name()) + ": " + res.message() + "\n";
      if (inv.show_usage) o.err += Usage();
    }
    const bool stats = res.ok() && inv.op != nullptr && inv.op->printer == ops::Printer::stats;
    const bool prometheus = stats && inv.local.value("prometheus", false);
    if (inv.json && stats && !prometheus) {
      o.out = StatsJsonLine(StatsReport(nullptr, d));  // the report, not the raw sample
    } else if (inv.json && !prometheus) {
      o.out = JsonLine(res, d, call ? notes : std::vector<std::string>{});
    } else if (res.ok() && inv.op != nullptr) {
      o.out = Human(*inv.op, inv.request, d, inv.local);
    }
    if (call)
      for (const std::string& n : notes) o.err += std::string(kProgram) + ": note: " + n + "\n";
  } catch (const std::exception& e) {
    // Only a broken reply (or memory exhaustion) gets here: report it as the daemon's fault.
    const Result broken(Code::protocol_error, std::string("cannot print the reply: ") + e.what());
    o.out.clear();
    if (inv.json) {
      o.out = "{\"result\":\"protocol-error\",\"message\":\"cannot print the reply\"}\n";
    }
    o.err = std::string(kProgram) + ": protocol-error: " + broken.message() + "\n";
    o.status = CodeExitStatus(Code::protocol_error);
  }
  return o;
}

}  // namespace blkgate::ctl
