#include "cli.h"

#include <algorithm>
#include <charconv>
#include <exception>
#include <map>
#include <optional>

#include "blkgate/model.h"
#include "blkgate/size.h"

namespace blkgate::ctl {
namespace {

using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// The verb table: every verb's words, op, positional arguments and options.

enum class PosType {
  name,       // an object name, checked with ValidateName(kind)
  names,      // one or more object names (last position only) -> JSON array
  file,       // a drive's backing store path, made absolute
  dir,        // an access path, made absolute
  status,     // online|offline|failed|not-ready
  on_off,     // on|off -> bool
  kind_name,  // KIND/NAME -> "kind", "name"
};

struct PosSpec {
  std::string_view meta;  // "NAME" in the usage
  std::string_view key;   // args member
  PosType type;
  std::string_view kind;  // object kind for validate_name
};

enum class OptType {
  flag,     // no value; always sent (false when absent)
  size,     // parse_size
  number,   // decimal 0..65535
  name,     // an object name
  backend,  // file|null|mem
};

struct OptSpec {
  std::string_view name;  // "--size"
  std::string_view key;   // args member
  OptType type;
  bool required;
  std::string_view meta;  // "BYTES"; empty for flags
  std::string_view help;
  std::string_view kind;  // for OptType::name
};

struct Verb {
  std::vector<std::string_view> words;
  std::string_view op;
  std::vector<PosSpec> pos;
  std::vector<OptSpec> opts;
  std::string_view summary;  // one line, for verb lists
  std::string_view details;  // for VERB --help
};

PosSpec pos(std::string_view meta, std::string_view key, PosType type, std::string_view kind = {}) {
  return PosSpec{meta, key, type, kind};
}
OptSpec flag(std::string_view name, std::string_view help) {
  return OptSpec{name, name.substr(2), OptType::flag, false, {}, help, {}};
}
OptSpec value(std::string_view name, std::string_view key, OptType type, bool required,
              std::string_view meta, std::string_view help, std::string_view kind = {}) {
  return OptSpec{name, key, type, required, meta, help, kind};
}

const std::vector<Verb>& verbs() {
  static const std::vector<Verb> table = [] {
    const PosSpec drive = pos("NAME", "name", PosType::name, "drive");
    const PosSpec disk = pos("NAME", "name", PosType::name, "disk");
    const PosSpec volume = pos("NAME", "name", PosType::name, "volume");
    const OptSpec force_offline =
        flag("--force", "take it offline even when it is in use (open files are shut down)");
    std::vector<Verb> v;
    v.push_back({{"drive", "add"},
                 "drive.add",
                 {drive, pos("PATH", "path", PosType::file)},
                 {value("--size", "size", OptType::size, false, "BYTES",
                        "create PATH with this size when it does not exist (K/M/G/T suffixes)")},
                 "add a drive (a backing file or block device)",
                 "Adds the drive NAME backed by PATH, a regular file or a block device. With "
                 "--size the file\nis created when it does not exist. PATH is made absolute "
                 "before it is sent."});
    v.push_back({{"drive", "list"},
                 "drive.list",
                 {},
                 {},
                 "list the drives",
                 "Prints a table of the drives: NAME, PATH, SIZE, STATUS, DISK."});
    v.push_back({{"drive", "show"},
                 "drive.show",
                 {drive},
                 {},
                 "show one drive",
                 "Prints the drive's fields as `key: value` lines."});
    v.push_back({{"drive", "remove"},
                 "drive.remove",
                 {drive},
                 {},
                 "remove a drive",
                 "Forgets the drive NAME (the file is kept). Refused while a disk uses it."});
    v.push_back({{"drive", "set-status"},
                 "drive.set-status",
                 {drive, pos("online|offline|failed|not-ready", "status", PosType::status)},
                 {},
                 "set a drive's status",
                 "Sets the status of the drive NAME to online, offline, failed or not-ready."});

    v.push_back({{"disk", "create"},
                 "disk.create",
                 {disk, pos("DRIVE", "drives", PosType::names, "drive")},
                 {},
                 "create a disk from drives, concatenated in order",
                 "Creates the disk NAME from one or more drives, concatenated in the order "
                 "given."});
    v.push_back({{"disk", "list"},
                 "disk.list",
                 {},
                 {},
                 "list the disks",
                 "Prints a table of the disks: NAME, SIZE, STATE, READ-ONLY, DRIVES, VOLUMES."});
    v.push_back({{"disk", "show"},
                 "disk.show",
                 {disk},
                 {},
                 "show one disk",
                 "Prints the disk's fields as `key: value` lines."});
    v.push_back({{"disk", "delete"},
                 "disk.delete",
                 {disk},
                 {},
                 "delete a disk",
                 "Deletes the disk NAME. Refused while volumes are on it."});
    v.push_back({{"disk", "offline"},
                 "disk.offline",
                 {disk},
                 {force_offline},
                 "take a disk and its volumes offline",
                 "Takes the disk NAME offline, and every volume on it first."});
    v.push_back({{"disk", "online"},
                 "disk.online",
                 {disk},
                 {},
                 "bring a disk online",
                 "Brings the disk NAME back online."});
    v.push_back({{"disk", "set-readonly"},
                 "disk.set-readonly",
                 {disk, pos("on|off", "read_only", PosType::on_off)},
                 {},
                 "make a disk read-only (on) or writable (off)",
                 "Makes the disk NAME read-only (on) or writable (off)."});

    v.push_back({{"volume", "create"},
                 "volume.create",
                 {volume},
                 {value("--disk", "disk", OptType::name, true, "DISK",
                        "the disk holding the volume", "disk"),
                  value("--size", "size", OptType::size, true, "BYTES",
                        "size of the volume, a multiple of 512"),
                  value("--offset", "offset", OptType::size, false, "BYTES",
                        "where the volume starts on the disk (default: the lowest free 1M-aligned gap)"),
                  value("--queues", "queues", OptType::number, false, "N",
                        "number of ublk queues (default: one per CPU)"),
                  value("--depth", "depth", OptType::number, false, "N", "depth of each queue: a power of two, at most 4096 (default 128)"),
                  value("--backend", "backend", OptType::backend, false, "file|null|mem",
                        "where the data goes (default: file)"),
                  flag("--system", "the system volume: it is never taken offline")},
                 "create a volume on a disk, exposed as /dev/ublkbN",
                 "Creates the volume NAME, an extent of DISK exposed as a ublk block device."});
    v.push_back({{"volume", "list"},
                 "volume.list",
                 {},
                 {},
                 "list the volumes",
                 "Prints a table of the volumes: NAME, DEVICE, SIZE, STATE, DISK, OFFSET, "
                 "MOUNTS."});
    v.push_back({{"volume", "show"},
                 "volume.show",
                 {volume},
                 {},
                 "show one volume",
                 "Prints the volume's fields and counters as `key: value` lines."});
    v.push_back({{"volume", "delete"},
                 "volume.delete",
                 {volume},
                 {},
                 "delete a volume",
                 "Deletes the volume NAME and its device."});
    v.push_back({{"volume", "offline"},
                 "volume.offline",
                 {volume},
                 {force_offline},
                 "take a volume offline",
                 "Takes the volume NAME offline: I/O to its device is refused."});
    v.push_back({{"volume", "online"},
                 "volume.online",
                 {volume},
                 {},
                 "bring a volume online",
                 "Brings the volume NAME back online."});
    v.push_back({{"volume", "dismount"},
                 "volume.dismount",
                 {volume},
                 {flag("--force", "dismount even when files are open (they are shut down)"),
                  flag("--permanent", "keep it dismounted; refused while access paths remain")},
                 "unmount a volume's file system",
                 "Unmounts the file system of the volume NAME from its access paths."});
    v.push_back({{"volume", "mount"},
                 "volume.mount",
                 {volume},
                 {},
                 "mount a dismounted volume again",
                 "Mounts the volume NAME on its access paths again after a dismount."});
    v.push_back({{"volume", "path", "add"},
                 "volume.path.add",
                 {volume, pos("DIR", "path", PosType::dir)},
                 {},
                 "add an access path (mount point) to a volume",
                 "Adds DIR as an access path of the volume NAME. DIR is made absolute before "
                 "it is sent."});
    v.push_back({{"volume", "path", "remove"},
                 "volume.path.remove",
                 {volume, pos("DIR", "path", PosType::dir)},
                 {},
                 "remove an access path from a volume",
                 "Removes the access path DIR of the volume NAME."});
    v.push_back({{"volume", "path", "list"},
                 "volume.path.list",
                 {volume},
                 {},
                 "list a volume's access paths",
                 "Prints the access paths of NAME, one a line."});

    v.push_back({{"offline"},
                 "resource.offline",
                 {pos("KIND/NAME", "name", PosType::kind_name)},
                 {},
                 "take a drive, disk or volume offline (KIND/NAME)",
                 "Takes the object offline, with whatever depends on it. KIND is drive, disk or "
                 "volume:\n`blkgatectl offline disk/k0`."});
    v.push_back({{"online"},
                 "resource.online",
                 {pos("KIND/NAME", "name", PosType::kind_name)},
                 {},
                 "bring a drive, disk or volume online (KIND/NAME)",
                 "Brings the object online again. KIND is drive, disk or volume:\n"
                 "`blkgatectl online volume/v0`."});
    v.push_back({{"refresh"},
                 "refresh",
                 {},
                 {},
                 "re-check the drives' backing stores",
                 "Re-reads the drives' backing stores (after cache-corrupt) and prints them."});
    v.push_back({{"list"},
                 "list",
                 {},
                 {},
                 "list drives, disks and volumes",
                 "Prints the tables of drive list, disk list and volume list."});
    v.push_back({{"results"},
                 "results",
                 {},
                 {},
                 "list every result name with its exit status (no daemon needed)",
                 "Prints every result a call can end with: NAME, EXIT status and MEANING. Scripts "
                 "read the\nexit-code table from here (`blkgatectl --json results`)."});
    v.push_back({{"ping"},
                 "ping",
                 {},
                 {},
                 "check that the daemon answers",
                 "Prints the daemon's version and pid."});
    return v;
  }();
  return table;
}

// ---------------------------------------------------------------------------------------------
// Usage texts.

constexpr std::string_view kProgram = "blkgatectl";
constexpr std::string_view kGlobalSynopsis = "blkgatectl [--socket PATH] [--json]";

std::string join(const std::vector<std::string_view>& words, std::string_view sep = " ") {
  std::string s;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i) s += sep;
    s += words[i];
  }
  return s;
}

std::string synopsis(const Verb& v) {
  std::string s = join(v.words);
  for (const PosSpec& p : v.pos) {
    s += ' ';
    s += p.meta;
    if (p.type == PosType::names) {
      s += " [";
      s += p.meta;
      s += "...]";
    }
  }
  for (const OptSpec& o : v.opts) {
    std::string opt(o.name);
    if (o.type != OptType::flag) opt += " " + std::string(o.meta);
    s += o.required ? " " + opt : " [" + opt + "]";
  }
  return s;
}

bool has_prefix(const Verb& v, const std::vector<std::string_view>& words) {
  return words.size() <= v.words.size() && std::equal(words.begin(), words.end(), v.words.begin());
}

// Verbs listed under a prefix: synopsis and summary, two lines each.
std::string verb_list(const std::vector<std::string_view>& prefix) {
  std::string s;
  for (const Verb& v : verbs()) {
    if (!has_prefix(v, prefix)) continue;
    s += "  " + synopsis(v) + "\n      " + std::string(v.summary) + "\n";
  }
  return s;
}

constexpr std::string_view kGlobalOptions =
    "global options (before or after the verb):\n"
    "  --socket PATH   the daemon's control socket (default: $BLKGATE_SOCKET, else\n"
    "                  /var/lib/blkgate/control.sock)\n"
    "  --json          print one JSON object: the reply's data plus \"result\" and \"message\"\n"
    "  -h, --help      print help for the verb\n";

constexpr std::string_view kExitStatus =
    "exit status: 0 when ok; otherwise 10 + the result's index, e.g. 11 invalid-argument,\n"
    "12 not-found, 30 protocol-error (see docs/control-protocol.md).\n";

std::string group_help(const std::vector<std::string_view>& prefix) {
  std::string s = "usage: " + std::string(kGlobalSynopsis) + " " + join(prefix) + " VERB ...\n\n";
  s += "verbs:\n" + verb_list(prefix) + "\n";
  s += kGlobalOptions;
  return s;
}

std::string verb_help(const Verb& v) {
  std::string s = "usage: " + std::string(kGlobalSynopsis) + " " + synopsis(v) + "\n\n";
  s += std::string(v.details) + "\n";
  if (!v.opts.empty()) {
    std::size_t width = 0;
    std::vector<std::string> heads;
    for (const OptSpec& o : v.opts) {
      std::string h(o.name);
      if (o.type != OptType::flag) h += " " + std::string(o.meta);
      width = std::max(width, h.size());
      heads.push_back(std::move(h));
    }
    s += "\noptions:\n";
    for (std::size_t i = 0; i < v.opts.size(); ++i) {
      s += "  " + heads[i] + std::string(width - heads[i].size() + 2, ' ') +
           std::string(v.opts[i].help) + (v.opts[i].required ? " (required)" : "") + "\n";
    }
  }
  s += "\n";
  s += kGlobalOptions;
  return s;
}

// Distinct next words of the verbs under a prefix: "create, list, show, ...".
std::string next_words(const std::vector<std::string_view>& prefix) {
  std::vector<std::string_view> out;
  for (const Verb& v : verbs()) {
    if (!has_prefix(v, prefix) || v.words.size() == prefix.size()) continue;
    std::string_view w = v.words[prefix.size()];
    if (std::find(out.begin(), out.end(), w) == out.end()) out.push_back(w);
  }
  return join(out, ", ");
}

// ---------------------------------------------------------------------------------------------
// Parsing.

Result bad(std::string message) {
  return Result::Error(Code::invalid_argument, std::move(message));
}

const OptSpec* find_opt(const Verb& v, std::string_view name) {
  for (const OptSpec& o : v.opts) {
    if (o.name == name) return &o;
  }
  return nullptr;
}

// Decimal 0..65535, digits only.
bool parse_number(std::string_view s, std::uint64_t* out) {
  if (s.empty() || s.size() > 5) return false;
  std::uint64_t n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || p != s.data() + s.size() || n > 65535) return false;
  *out = n;
  return true;
}

// Checks an object name; the message is "<where>: [<what>: ]bad <kind> name '<name>': <why>".
Result check_name(std::string_view where, std::string_view kind, std::string_view what,
                  std::string_view name) {
  Result r = ValidateName(kind, name);
  if (r.ok()) return r;
  std::string m(where);
  m += ": ";
  if (!what.empty()) m += std::string(what) + ": ";
  return bad(m + r.message());
}

Result convert_option(const std::string& where, const OptSpec& o, const std::string& text,
                      json* args) {
  const std::string key(o.key);
  const std::string name(o.name);
  switch (o.type) {
    case OptType::flag:
      (*args)[key] = true;
      return Result::Ok();
    case OptType::size: {
      std::uint64_t n = 0;
      if (Result r = ParseSize(text, &n); !r.ok())
        return bad(where + ": " + name + ": " + r.message());
      (*args)[key] = n;
      return Result::Ok();
    }
    case OptType::number: {
      std::uint64_t n = 0;
      if (!parse_number(text, &n)) {
        return bad(where + ": " + name + ": bad number '" + text + "' (0 to 65535)");
      }
      (*args)[key] = n;
      return Result::Ok();
    }
    case OptType::name:
      BLKGATE_TRY(check_name(where, o.kind, name, text));
      (*args)[key] = text;
      return Result::Ok();
    case OptType::backend: {
      BackendKind b;
      if (!ParseBackend(text, &b).ok()) {
        return bad(where + ": " + name + ": bad backend '" + text + "' (file, null or mem)");
      }
      (*args)[key] = text;
      return Result::Ok();
    }
  }
  return bad(where + ": unhandled option " + name);
}

Result convert_positional(const std::string& where, const PosSpec& p, const std::string& text,
                          const PathResolver& resolve, json* args) {
  const std::string key(p.key);
  switch (p.type) {
    case PosType::name:
      BLKGATE_TRY(check_name(where, p.kind, "", text));
      (*args)[key] = text;
      return Result::Ok();
    case PosType::names:
      BLKGATE_TRY(check_name(where, p.kind, "", text));
      (*args)[key].push_back(text);
      return Result::Ok();
    case PosType::file:
    case PosType::dir: {
      if (text.empty()) return bad(where + ": empty " + std::string(p.meta));
      if (!resolve) return bad(where + ": cannot resolve " + std::string(p.meta));
      std::string abs;
      Result r = resolve(text, p.type == PosType::dir, &abs);
      if (!r.ok()) {
        return Result::Error(
            r.code(), where + ": " + std::string(p.meta) + " '" + text + "': " + r.message());
      }
      (*args)[key] = abs;
      return Result::Ok();
    }
    case PosType::status: {
      DriveStatus s;
      if (!ParseDriveStatus(text, &s).ok()) {
        return bad(where + ": bad status '" + text + "' (online, offline, failed or not-ready)");
      }
      (*args)[key] = text;
      return Result::Ok();
    }
    case PosType::on_off:
      if (text != "on" && text != "off") {
        return bad(where + ": expected on or off, not '" + text + "'");
      }
      (*args)[key] = text == "on";
      return Result::Ok();
    case PosType::kind_name: {
      const std::size_t slash = text.find('/');
      const std::string kind = slash == std::string::npos ? std::string() : text.substr(0, slash);
      if (kind != "drive" && kind != "disk" && kind != "volume") {
        return bad(where + ": bad KIND/NAME '" + text +
                   "' (KIND is drive, disk or volume, e.g. volume/v0)");
      }
      const std::string name = text.substr(slash + 1);
      BLKGATE_TRY(check_name(where, kind, "", name));
      (*args)["kind"] = kind;
      (*args)[key] = name;
      return Result::Ok();
    }
  }
  return bad(where + ": unhandled argument " + std::string(p.meta));
}

Invocation parse_impl(const std::vector<std::string>& args, const PathResolver& resolve) {
  Invocation inv;
  std::vector<std::string_view> words;  // verb words seen so far
  const Verb* verb = nullptr;
  std::optional<Result> verb_error;  // unknown verb: beats --help
  std::optional<Result> error;       // first other problem
  bool help = false;
  bool options_ended = false;
  bool socket_given = false;
  std::vector<std::string> positionals;
  std::map<std::string_view, std::string> given;  // option name -> raw value

  auto where = [&] { return words.empty() ? std::string(kProgram) : join(words); };
  auto fail = [&](std::string message) {
    if (!error) error = bad(std::move(message));
  };

  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& tok = args[i];
    if (!options_ended && tok == "--") {
      options_ended = true;
      continue;
    }
    if (!options_ended && tok.size() > 1 && tok[0] == '-') {
      std::string name = tok;
      std::optional<std::string> inline_value;
      const std::size_t eq = tok.find('=');
      if (tok.starts_with("--") && eq != std::string::npos) {
        name = tok.substr(0, eq);
        inline_value = tok.substr(eq + 1);
      }
      // The option's value: "--opt=value" or the next argument.
      auto take_value = [&]() -> std::optional<std::string> {
        if (inline_value) return inline_value;
        if (i + 1 < args.size()) return args[++i];
        fail(where() + ": " + name + " needs a value");
        return std::nullopt;
      };
      if (name == "-h" || name == "--help" || name == "--json") {
        if (inline_value) {
          fail(where() + ": " + name + " takes no value");
        } else if (name == "--json") {
          inv.json = true;
        } else {
          help = true;
        }
        continue;
      }
      if (name == "--socket") {
        std::optional<std::string> v = take_value();
        if (!v) continue;
        if (v->empty()) {
          fail(where() + ": --socket needs a value");
        } else if (socket_given) {
          fail(where() + ": --socket given twice");
        } else {
          inv.socket = *v;
          socket_given = true;
        }
        continue;
      }
      const OptSpec* o = verb ? find_opt(*verb, name) : nullptr;
      if (o == nullptr) {
        fail(where() + ": unknown option " + name);
        continue;
      }
      if (o->type == OptType::flag) {
        if (inline_value) {
          fail(where() + ": " + name + " takes no value");
        } else if (given.count(o->name)) {
          fail(where() + ": " + name + " given twice");
        }
        given[o->name] = "";
        continue;
      }
      std::optional<std::string> v = take_value();
      if (!v) continue;
      if (given.count(o->name)) {
        fail(where() + ": " + name + " given twice");
        continue;
      }
      given[o->name] = *v;
      continue;
    }

    // A word: part of the verb until one is complete, then a positional argument.
    if (verb != nullptr || verb_error) {
      positionals.push_back(tok);
      continue;
    }
    const std::vector<std::string_view> prefix = words;
    words.push_back(tok);
    bool known = false;
    for (const Verb& v : verbs()) {
      if (!has_prefix(v, words)) continue;
      known = true;
      if (v.words.size() == words.size()) verb = &v;
    }
    if (!known) {
      verb_error = bad(prefix.empty() ? "unknown verb '" + tok + "' (" + next_words({}) + ")"
                                      : join(prefix) + ": unknown verb '" + tok + "' (" +
                                            next_words(prefix) + ")");
    }
  }

  auto fail_with = [&](Result r) {
    inv.action = Action::error;
    inv.error = std::move(r);
    return inv;
  };
  if (verb_error) return fail_with(*verb_error);
  if (help) {
    inv.action = Action::help;
    inv.help = verb ? verb_help(*verb) : words.empty() ? usage() : group_help(words);
    return inv;
  }
  if (error) return fail_with(*error);
  if (verb == nullptr) {
    if (words.empty()) {
      inv.show_usage = true;
      return fail_with(bad("missing verb"));
    }
    return fail_with(bad(join(words) + ": missing verb (" + next_words(words) + ")"));
  }

  const std::string at = join(verb->words);
  json a = json::object();
  std::size_t next = 0;
  for (const PosSpec& p : verb->pos) {
    if (next >= positionals.size()) return fail_with(bad(at + ": missing " + std::string(p.meta)));
    if (p.type == PosType::names) {
      a[std::string(p.key)] = json::array();
      while (next < positionals.size()) {
        Result r = convert_positional(at, p, positionals[next++], resolve, &a);
        if (!r.ok()) return fail_with(std::move(r));
      }
    } else {
      Result r = convert_positional(at, p, positionals[next++], resolve, &a);
      if (!r.ok()) return fail_with(std::move(r));
    }
  }
  if (next < positionals.size()) {
    return fail_with(bad(at + ": unexpected argument '" + positionals[next] + "'"));
  }
  for (const OptSpec& o : verb->opts) {
    auto it = given.find(o.name);
    if (it == given.end()) {
      if (o.required) return fail_with(bad(at + ": missing " + std::string(o.name)));
      if (o.type == OptType::flag) a[std::string(o.key)] = false;
      continue;
    }
    Result r = convert_option(at, o, it->second, &a);
    if (!r.ok()) return fail_with(std::move(r));
  }

  inv.action = verb->op == "results" ? Action::local : Action::call;
  inv.request.op = std::string(verb->op);
  inv.request.args = std::move(a);
  return inv;
}

// ---------------------------------------------------------------------------------------------
// Human output. Reply data is read defensively: a missing or mistyped field prints as "?".

const json* field(const json& j, std::string_view key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(std::string(key));
  return it == j.end() ? nullptr : &*it;
}

// A scalar or list as text: strings as they are, null "-", bools yes/no, lists comma-joined.
std::string text(const json* v) {
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
        s += text(&e);
      }
      return s;
    }
    default:
      return v->dump(-1, ' ', false, json::error_handler_t::replace);
  }
}

std::string text(const json& j, std::string_view key) {
  return text(field(j, key));
}

// A non-negative integer of either JSON integer type.
std::optional<std::uint64_t> as_u64(const json* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_number_unsigned()) return v->get<std::uint64_t>();
  if (v->is_number_integer() && v->get<std::int64_t>() >= 0) {
    return static_cast<std::uint64_t>(v->get<std::int64_t>());
  }
  return std::nullopt;
}

// Byte counts as "64M"; anything else as text().
std::string size_text(const json& j, std::string_view key) {
  const json* v = field(j, key);
  if (auto n = as_u64(v)) return FormatSize(*n);
  return text(v);
}

// Columns separated by two spaces, each as wide as its widest cell; the last is not padded.
std::string table(const std::vector<std::string>& header,
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

// The array data[key], or an empty one.
const json& array_of(const json& data, std::string_view key) {
  static const json empty = json::array();
  const json* v = field(data, key);
  return v != nullptr && v->is_array() ? *v : empty;
}

std::string drive_table(const json& drives) {
  std::vector<std::vector<std::string>> rows;
  for (const json& d : drives) {
    rows.push_back({text(d, "name"), text(d, "path"), size_text(d, "size"), text(d, "status"),
                    text(d, "disk")});
  }
  return table({"NAME", "PATH", "SIZE", "STATUS", "DISK"}, rows);
}

std::string disk_table(const json& disks) {
  std::vector<std::vector<std::string>> rows;
  for (const json& d : disks) {
    rows.push_back({text(d, "name"), size_text(d, "size"), text(d, "state"), text(d, "read_only"),
                    text(d, "drives"), text(d, "volumes")});
  }
  return table({"NAME", "SIZE", "STATE", "READ-ONLY", "DRIVES", "VOLUMES"}, rows);
}

std::string volume_table(const json& volumes) {
  std::vector<std::vector<std::string>> rows;
  for (const json& v : volumes) {
    rows.push_back({text(v, "name"), text(v, "device"), size_text(v, "size"), text(v, "state"),
                    text(v, "disk"), size_text(v, "offset"), text(v, "mounts")});
  }
  return table({"NAME", "DEVICE", "SIZE", "STATE", "DISK", "OFFSET", "MOUNTS"}, rows);
}

// `key: value` lines: the known keys in `order` first, then any others by name. Objects nest
// as "outer.inner"; sizes print as "64M (67108864 bytes)".
std::string show(const json& obj, const std::vector<std::string_view>& order,
                 const std::string& prefix = "") {
  if (!obj.is_object()) return prefix + (prefix.empty() ? "" : ": ") + text(&obj) + "\n";
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
      s += show(v, k == "stats" ? kStatsOrder : std::vector<std::string_view>{}, name);
    } else if (auto bytes = as_u64(&v); bytes && (k == "size" || k == "offset")) {
      const std::uint64_t n = *bytes;
      const std::string h = FormatSize(n);
      s += name + ": " + h + (h == std::to_string(n) ? "" : " (" + std::to_string(n) + " bytes)") +
           "\n";
    } else {
      s += name + ": " + text(&v) + "\n";
    }
  }
  return s;
}

const std::vector<std::string_view> kDriveOrder = {"name", "path", "size", "status", "disk"};
const std::vector<std::string_view> kDiskOrder = {"name",  "drives",    "size",
                                                  "state", "read_only", "volumes"};
const std::vector<std::string_view> kVolumeOrder = {
    "name",   "disk",  "offset",  "size",   "device",   "dev_id",       "state",  "read_only",
    "queues", "depth", "backend", "system", "dismount", "access_paths", "mounts", "stats"};

std::string human(const protocol::Request& req, const json& data) {
  const std::string& op = req.op;
  // The object's name: from the reply, else from the request.
  std::string name = text(data, "name");
  if (name == "?") name = text(req.args, "name");

  if (op == "results") {
    std::vector<std::vector<std::string>> rows;
    for (const json& c : array_of(data, "results"))
      rows.push_back({text(c, "name"), text(c, "exit"), text(c, "meaning")});
    return table({"NAME", "EXIT", "MEANING"}, rows);
  }
  if (op == "ping") {
    return "blkgate " + text(data, "version") + ", pid " + text(data, "pid") + "\n";
  }
  if (op == "list") {
    return drive_table(array_of(data, "drives")) + "\n" + disk_table(array_of(data, "disks")) +
           "\n" + volume_table(array_of(data, "volumes"));
  }
  if (op == "drive.list" || op == "refresh") return drive_table(array_of(data, "drives"));
  if (op == "disk.list") return disk_table(array_of(data, "disks"));
  if (op == "volume.list") return volume_table(array_of(data, "volumes"));
  if (op == "drive.show") return show(data, kDriveOrder);
  if (op == "disk.show") return show(data, kDiskOrder);
  if (op == "volume.show") return show(data, kVolumeOrder);
  if (op == "volume.path.list") {
    std::string s;
    for (const json& p : array_of(data, "access_paths")) s += text(&p) + "\n";
    return s;
  }

  if (op == "drive.add") {
    const std::string path = field(data, "path") ? text(data, "path") : text(req.args, "path");
    return "drive " + name + " added: " + path +
           (field(data, "size") ? ", " + size_text(data, "size") : "") + "\n";
  }
  if (op == "drive.remove") return "drive " + name + " removed\n";
  if (op == "drive.set-status") return "drive " + name + " is " + text(data, "status") + "\n";
  if (op == "disk.create") {
    const std::string drives =
        field(data, "drives") ? text(data, "drives") : text(req.args, "drives");
    return "disk " + name + " created: " + drives +
           (field(data, "size") ? ", " + size_text(data, "size") : "") + "\n";
  }
  if (op == "disk.delete") return "disk " + name + " deleted\n";
  if (op == "disk.offline" || op == "disk.online") {
    return "disk " + name + " is " + text(data, "state") + "\n";
  }
  if (op == "disk.set-readonly") {
    const json* ro = field(data, "read_only");
    const bool on =
        ro != nullptr && ro->is_boolean() ? ro->get<bool>() : req.args.value("read_only", false);
    return "disk " + name + " is " + (on ? "read-only" : "writable") + "\n";
  }
  if (op == "volume.create") {
    const json* dev = field(data, "device");
    return "volume " + name + " created: " +
           (dev != nullptr && dev->is_string() ? text(dev)
                                               : "no device (" + text(data, "state") + ")") +
           "\n";
  }
  if (op == "volume.delete") return "volume " + name + " deleted\n";
  if (op == "volume.offline" || op == "volume.online") {
    return "volume " + name + " is " + text(data, "state") + "\n";
  }
  if (op == "volume.dismount") {
    const bool permanent = field(data, "dismount") ? text(data, "dismount") == "permanent"
                                                   : text(req.args, "permanent") == "yes";
    return "volume " + name + " dismounted" + (permanent ? " permanently" : "") + "\n";
  }
  if (op == "volume.mount") {
    const json& mounts = array_of(data, "mounts");
    return "volume " + name + " mounted" + (mounts.empty() ? "" : " on " + text(&mounts)) + "\n";
  }
  if (op == "volume.path.add") {
    return "volume " + name + ": access path " + text(req.args, "path") + " added\n";
  }
  if (op == "volume.path.remove") {
    return "volume " + name + ": access path " + text(req.args, "path") + " removed\n";
  }
  if (op == "resource.offline" || op == "resource.online") {
    const json& changed = array_of(data, "changed");
    if (changed.empty()) return "nothing changed\n";
    std::string s;
    for (const json& c : changed) {
      s += text(c, "kind") + " " + text(c, "name") + " is " + text(c, "state") + "\n";
    }
    return s;
  }
  // An op without a printer (cannot happen for the verbs above): the data as JSON.
  return data.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string json_line(const Result& r, const json& data) {
  nlohmann::ordered_json o;
  o["result"] = std::string(r.name());
  o["message"] = r.message();
  if (data.is_object()) {
    for (const auto& [k, v] : data.items()) {
      if (k != "result" && k != "message") o[k] = v;
    }
  }
  return o.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace

std::string usage() {
  std::string s = "usage: " + std::string(kGlobalSynopsis) + " VERB ...\n\n";
  s += "Controls a running blkgate daemon.\n\nverbs:\n" + verb_list({}) + "\n";
  s += kGlobalOptions;
  s += "\nOptions may come anywhere after the verb words, as --opt VALUE or --opt=VALUE.\n";
  s += "Sizes take K, M, G, T suffixes (powers of 1024). `blkgatectl VERB --help` for a verb.\n\n";
  s += kExitStatus;
  return s;
}

Invocation parse(const std::vector<std::string>& args, const PathResolver& resolve) {
  try {
    return parse_impl(args, resolve);
  } catch (const std::exception& e) {
    Invocation inv;
    inv.action = Action::error;
    inv.error = bad(std::string("internal error: ") + e.what());
    return inv;
  }
}

json LocalReply(const Invocation& inv) {
  json results = json::array();
  if (inv.request.op == "results") {
    for (int i = 0; i < kCodeCount; ++i) {
      const Code c = static_cast<Code>(i);
      results.push_back(
          {{"name", CodeName(c)}, {"exit", CodeExitStatus(c)}, {"meaning", CodeMeaning(c)}});
    }
  }
  return {{"results", std::move(results)}};
}

Output render(const Invocation& inv, const Result& r, const nlohmann::json& data) {
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
      if (inv.show_usage) o.err += usage();
    }
    if (inv.json) {
      o.out = json_line(res, d);
    } else if (res.ok()) {
      o.out = human(inv.request, d);
    }
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
