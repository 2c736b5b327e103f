// ctl/cli.cpp — blkgatectl's argv -> protocol request: the verbs (from the registry), global
// options, --help texts, each argument converted and checked as the daemon would (named
// invalid-argument before any call). Pure; path resolution is injected (cli.h).
#include "cli.h"

#include <algorithm>
#include <charconv>
#include <exception>
#include <map>
#include <optional>
#include <set>

#include "blkgate/model.h"
#include "blkgate/ops.h"
#include "blkgate/size.h"
#include "verbs.h"

namespace blkgate::ctl {
namespace {

using nlohmann::json;

using ops::ArgForm;
using ops::ArgSpec;
using ops::ArgType;

// ---------------------------------------------------------------------------------------------
// Parsing.

const ArgSpec* FindOpt(const Verb& v, std::string_view name) {
  for (const ArgSpec* o : v.opts) {
    if (o->cli == name) return o;
  }
  return nullptr;
}

// Decimal 0..65535, digits only.
bool ParseNumber(std::string_view s, std::uint64_t* out) {
  if (s.empty() || s.size() > 5) return false;
  std::uint64_t n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || p != s.data() + s.size() || n > 65535) return false;
  *out = n;
  return true;
}

// Checks an object name; the message is "<where>: [<what>: ]bad <kind> name '<name>': <why>".
Result CheckName(std::string_view where, std::string_view kind, std::string_view what,
                 std::string_view name) {
  Result r = ValidateName(kind, name);
  if (r.ok()) return r;
  std::string m(where);
  m += ": ";
  if (!what.empty()) m += std::string(what) + ": ";
  return Result::InvalidArgument(m + r.message());
}

// Converts one command-line value of argument `a` into its protocol member(s) in *args.
// Messages name the verb (`where`) and, for options, the option.
Result Convert(const std::string& where, const ArgSpec& a, const std::string& text,
               const PathResolver& resolve, json* args) {
  const std::string key(a.key);
  const std::string opt = a.form == ArgForm::option ? std::string(a.cli) + ": " : std::string();
  switch (a.type) {
    case ArgType::flag:
      (*args)[key] = true;
      return Result::Ok();
    case ArgType::size: {
      std::uint64_t n = 0;
      if (Result r = ParseSize(text, &n); !r.ok())
        return Result::InvalidArgument(where + ": " + opt + r.message());
      (*args)[key] = n;
      return Result::Ok();
    }
    case ArgType::number: {
      std::uint64_t n = 0;
      if (!ParseNumber(text, &n))
        return Result::InvalidArgument(where + ": " + opt + "bad number '" + text +
                                       "' (0 to 65535)");
      (*args)[key] = n;
      return Result::Ok();
    }
    case ArgType::name:
      BLKGATE_TRY(CheckName(where, a.kind, a.form == ArgForm::option ? a.cli : "", text));
      (*args)[key] = text;
      return Result::Ok();
    case ArgType::names:
      BLKGATE_TRY(CheckName(where, a.kind, "", text));
      (*args)[key].push_back(text);
      return Result::Ok();
    case ArgType::backend: {
      BackendKind b;
      if (!ParseBackend(text, &b).ok())
        return Result::InvalidArgument(where + ": " + opt + "bad backend '" + text +
                                       "' (file, null or mem)");
      (*args)[key] = text;
      return Result::Ok();
    }
    case ArgType::file:
    case ArgType::dir: {
      if (text.empty()) return Result::InvalidArgument(where + ": empty " + std::string(a.cli));
      if (!resolve)
        return Result::InvalidArgument(where + ": cannot resolve " + std::string(a.cli));
      std::string abs;
      Result r = resolve(text, a.type == ArgType::dir, &abs);
      if (!r.ok()) {
        return Result::Error(r.code(),
                             where + ": " + std::string(a.cli) + " '" + text + "': " + r.message());
      }
      (*args)[key] = abs;
      return Result::Ok();
    }
    case ArgType::mount_opts: {
      MountOptions o;
      if (Result r = ParseMountOptions(text, &o); !r.ok())
        return Result::InvalidArgument(where + ": " + opt + r.message());
      (*args)[key] = text;
      return Result::Ok();
    }
    case ArgType::drive_status: {
      DriveStatus st;
      if (!ParseDriveStatus(text, &st).ok()) {
        return Result::InvalidArgument(where + ": bad status '" + text +
                                       "' (online, offline, failed or not-ready)");
      }
      (*args)[key] = text;
      return Result::Ok();
    }
    case ArgType::on_off:
      if (text != "on" && text != "off") {
        return Result::InvalidArgument(where + ": expected on or off, not '" + text + "'");
      }
      (*args)[key] = text == "on";
      return Result::Ok();
    case ArgType::object_ref: {
      const std::size_t slash = text.find('/');
      const std::string kind = slash == std::string::npos ? std::string() : text.substr(0, slash);
      if (kind != "drive" && kind != "disk" && kind != "volume") {
        return Result::InvalidArgument(where + ": bad KIND/NAME '" + text +
                                       "' (KIND is drive, disk or volume, e.g. volume/v0)");
      }
      const std::string name = text.substr(slash + 1);
      BLKGATE_TRY(CheckName(where, kind, "", name));
      (*args)["kind"] = kind;
      (*args)[key] = name;
      return Result::Ok();
    }
  }
  return Result::InvalidArgument(where + ": unhandled argument " + std::string(a.cli));
}

// A whole number of seconds, 0..65535.
bool ParseSeconds(std::string_view text, unsigned* out) {
  std::uint64_t n;
  if (!ParseNumber(text, &n)) return false;
  *out = static_cast<unsigned>(n);
  return true;
}

Invocation ParseImpl(const std::vector<std::string>& args, const PathResolver& resolve) {
  Invocation inv;
  std::vector<std::string_view> words;  // verb words seen so far
  const Verb* verb = nullptr;
  std::optional<Result> verb_error;  // unknown verb: beats --help
  std::optional<Result> error;       // first other problem
  bool help = false;
  bool options_ended = false;
  std::set<std::string> globals_given;  // --socket, --timeout
  std::vector<std::string> positionals;
  std::map<std::string_view, std::string> given;  // option name -> raw value

  auto where = [&] { return words.empty() ? std::string(kProgram) : Join(words); };
  auto fail = [&](std::string message) {
    if (!error) error = Result::InvalidArgument(std::move(message));
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
      if (name == "--socket" || name == "--timeout") {
        std::optional<std::string> v = take_value();
        if (!v) continue;
        if (v->empty()) {
          fail(where() + ": " + name + " needs a value");
        } else if (!globals_given.insert(name).second) {
          fail(where() + ": " + name + " given twice");
        } else if (name == "--socket") {
          inv.socket = *v;
        } else if (!ParseSeconds(*v, &inv.timeout_s)) {
          fail(where() + ": --timeout: bad number of seconds '" + *v + "'");
        }
        continue;
      }
      const ArgSpec* o = verb ? FindOpt(*verb, name) : nullptr;
      if (o == nullptr) {
        fail(where() + ": unknown option " + name);
        continue;
      }
      if (o->type == ArgType::flag) {
        if (inline_value) {
          fail(where() + ": " + name + " takes no value");
        } else if (given.count(o->cli)) {
          fail(where() + ": " + name + " given twice");
        }
        given[o->cli] = "";
        continue;
      }
      std::optional<std::string> v = take_value();
      if (!v) continue;
      if (given.count(o->cli)) {
        fail(where() + ": " + name + " given twice");
        continue;
      }
      given[o->cli] = *v;
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
    for (const Verb& v : Verbs()) {
      if (!HasPrefix(v, words)) continue;
      known = true;
      if (v.words.size() == words.size()) verb = &v;
    }
    if (!known) {
      verb_error = Result::InvalidArgument(
          prefix.empty()
              ? "unknown verb '" + tok + "' (" + NextWords({}) + ")"
              : Join(prefix) + ": unknown verb '" + tok + "' (" + NextWords(prefix) + ")");
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
    inv.help = verb ? VerbHelp(*verb) : words.empty() ? Usage() : GroupHelp(words);
    return inv;
  }
  if (error) return fail_with(*error);
  if (verb == nullptr) {
    if (words.empty()) {
      inv.show_usage = true;
      return fail_with(Result::InvalidArgument("missing verb"));
    }
    return fail_with(
        Result::InvalidArgument(Join(words) + ": missing verb (" + NextWords(words) + ")"));
  }

  const std::string at = Join(verb->words);
  json a = json::object();
  std::size_t next = 0;
  for (const ArgSpec* p : verb->pos) {
    if (next >= positionals.size()) {
      if (!p->required) continue;
      return fail_with(Result::InvalidArgument(at + ": missing " + std::string(p->cli)));
    }
    if (p->type == ArgType::names) {
      a[std::string(p->key)] = json::array();
      while (next < positionals.size()) {
        Result r = Convert(at, *p, positionals[next++], resolve, &a);
        if (!r.ok()) return fail_with(std::move(r));
      }
    } else {
      Result r = Convert(at, *p, positionals[next++], resolve, &a);
      if (!r.ok()) return fail_with(std::move(r));
    }
  }
  if (next < positionals.size()) {
    return fail_with(
        Result::InvalidArgument(at + ": unexpected argument '" + positionals[next] + "'"));
  }
  for (const ArgSpec* o : verb->opts) {
    json* into = o->local ? &inv.local : &a;  // blkgatectl's own options are never sent
    auto it = given.find(o->cli);
    if (it == given.end()) {
      if (o->required)
        return fail_with(Result::InvalidArgument(at + ": missing " + std::string(o->cli)));
      if (o->type == ArgType::flag) (*into)[std::string(o->key)] = false;
      continue;
    }
    Result r = Convert(at, *o, it->second, resolve, into);
    if (!r.ok()) return fail_with(std::move(r));
    if (o->local && o->type == ArgType::number) {
      const std::uint64_t n = (*into)[std::string(o->key)].get<std::uint64_t>();
      if (n < o->min || n > o->max)
        return fail_with(Result::InvalidArgument(at + ": " + std::string(o->range_message)));
    }
  }
  // The daemon's own check, at this edge too: nothing that it would refuse is sent.
  ops::Args checked;
  if (Result r = ops::Validate(*verb->op, a, &checked); !r.ok())
    return fail_with(Result::InvalidArgument(at + ": " + r.message()));

  inv.action = verb->op->local ? Action::local : Action::call;
  inv.request.op = std::string(verb->op->name);
  inv.op = verb->op;
  inv.request.args = std::move(a);
  return inv;
}

// The protocol carries UTF-8 only (JSON): a path with other bytes would reach the daemon
// changed (U+FFFD in place of each bad byte), naming another file. Refused before any call.
Result CheckUtf8(const ops::OpSpec& op, const json& args) {
  auto bad = [](const json& e) {
    return e.is_string() && !protocol::IsValidUtf8(e.get_ref<const std::string&>());
  };
  for (const ops::ArgSpec& a : op.args) {
    auto v = args.find(a.key);
    if (v != args.end() && (bad(*v) || (v->is_array() && std::any_of(v->begin(), v->end(), bad))))
      return Result::InvalidArgument(std::string(op.words) + ": " + std::string(a.cli) +
                                     " is not valid UTF-8 (the protocol carries UTF-8 only)");
  }
  return Result::Ok();
}

}  // namespace

Invocation Parse(const std::vector<std::string>& args, const PathResolver& resolve) {
  try {
    Invocation inv = ParseImpl(args, resolve);
    if (inv.action == Action::call) {
      if (Result r = CheckUtf8(*inv.op, inv.request.args); !r.ok()) {
        inv.action = Action::error;
        inv.error = r;
      }
    }
    return inv;
  } catch (const std::exception& e) {
    Invocation inv;
    inv.action = Action::error;
    inv.error = Result::InvalidArgument(std::string("internal error: ") + e.what());
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

}  // namespace blkgate::ctl
