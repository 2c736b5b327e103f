// ctl/help.cpp — blkgatectl's verbs (the registry's operations, their words split once) and
// every help text: the usage, a verb group's list, a verb's synopsis, arguments and details,
// the exit statuses. Pure; built once, immutable after (function-local static).
#include <algorithm>
#include <set>

#include "blkgate/ops.h"
#include "blkgate/result.h"
#include "cli.h"
#include "verbs.h"

namespace blkgate::ctl {

using ops::ArgForm;
using ops::ArgSpec;
using ops::ArgType;
using ops::OpSpec;

// ---------------------------------------------------------------------------------------------
// The verbs: the operation registry (blkgate/ops.h), with each op's words split once.

const std::vector<Verb>& Verbs() {
  static const std::vector<Verb> table = [] {
    std::vector<Verb> v;
    for (const OpSpec& op : ops::All()) {
      Verb verb{&op, {}, {}, {}};
      for (std::string_view w = op.words; !w.empty();) {
        const std::size_t sp = std::min(w.find(' '), w.size());
        verb.words.push_back(w.substr(0, sp));
        w.remove_prefix(std::min(sp + 1, w.size()));
      }
      for (const ArgSpec& a : op.args)
        (a.form == ArgForm::positional ? verb.pos : verb.opts).push_back(&a);
      v.push_back(std::move(verb));
    }
    return v;
  }();
  return table;
}

// ---------------------------------------------------------------------------------------------
// Usage texts.

constexpr std::string_view kGlobalSynopsis = "blkgatectl [--socket PATH] [--timeout SECS] [--json]";

std::string Join(const std::vector<std::string_view>& words, std::string_view sep) {
  std::string s;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i) s += sep;
    s += words[i];
  }
  return s;
}

std::string Synopsis(const Verb& v) {
  std::string s = Join(v.words);
  for (const ArgSpec* p : v.pos) {
    s += ' ';
    if (!p->required) {
      s += "[" + std::string(p->cli) + "]";
      continue;
    }
    s += p->cli;
    if (p->type == ArgType::names) {
      s += " [";
      s += p->cli;
      s += "...]";
    }
  }
  for (const ArgSpec* o : v.opts) {
    std::string opt(o->cli);
    if (o->type != ArgType::flag) opt += " " + std::string(o->meta);
    s += o->required ? " " + opt : " [" + opt + "]";
  }
  return s;
}

bool HasPrefix(const Verb& v, const std::vector<std::string_view>& words) {
  return words.size() <= v.words.size() && std::equal(words.begin(), words.end(), v.words.begin());
}

// Verbs listed under a prefix: synopsis and summary, two lines each.
std::string VerbList(const std::vector<std::string_view>& prefix) {
  std::string s;
  for (const Verb& v : Verbs()) {
    if (!HasPrefix(v, prefix)) continue;
    s += "  " + Synopsis(v) + "\n      " + std::string(v.op->summary) + "\n";
  }
  return s;
}

constexpr std::string_view kGlobalOptions =
    "global options (before or after the verb):\n"
    "  --socket PATH   the daemon's control socket (default: $BLKGATE_SOCKET, else\n"
    "                  /run/blkgate/control.sock when it exists (the systemd service's),\n"
    "                  else /var/lib/blkgate/control.sock)\n"
    "  --timeout SECS  give up connecting, and waiting for the reply, after SECS seconds each\n"
    "                  (protocol-error; default 60, 0 waits forever)\n"
    "  --json          print one JSON object: the reply's data plus \"result\" and \"message\"\n"
    "  -h, --help      print help for the verb\n";

constexpr std::string_view kExitStatus =
    "exit status: 0 when ok; otherwise 10 + the result's index, e.g. 11 invalid-argument,\n"
    "12 not-found, 30 protocol-error (see docs/control-protocol.md).\n";

std::string GroupHelp(const std::vector<std::string_view>& prefix) {
  std::string s = "usage: " + std::string(kGlobalSynopsis) + " " + Join(prefix) + " VERB ...\n\n";
  s += "verbs:\n" + VerbList(prefix) + "\n";
  s += kGlobalOptions;
  return s;
}

std::string VerbHelp(const Verb& v) {
  std::string s = "usage: " + std::string(kGlobalSynopsis) + " " + Synopsis(v) + "\n\n";
  s += std::string(v.op->details) + "\n";
  if (!v.opts.empty()) {
    std::size_t width = 0;
    std::vector<std::string> heads;
    for (const ArgSpec* o : v.opts) {
      std::string h(o->cli);
      if (o->type != ArgType::flag) h += " " + std::string(o->meta);
      width = std::max(width, h.size());
      heads.push_back(std::move(h));
    }
    s += "\noptions:\n";
    for (std::size_t i = 0; i < v.opts.size(); ++i) {
      s += "  " + heads[i] + std::string(width - heads[i].size() + 2, ' ') +
           std::string(v.opts[i]->help) + (v.opts[i]->required ? " (required)" : "") + "\n";
    }
  }
  s += "\n";
  s += kGlobalOptions;
  return s;
}

// Distinct next words of the verbs under a prefix: "create, list, show, ...".
std::string NextWords(const std::vector<std::string_view>& prefix) {
  std::vector<std::string_view> out;
  for (const Verb& v : Verbs()) {
    if (!HasPrefix(v, prefix) || v.words.size() == prefix.size()) continue;
    std::string_view w = v.words[prefix.size()];
    if (std::find(out.begin(), out.end(), w) == out.end()) out.push_back(w);
  }
  return Join(out, ", ");
}

std::string Usage() {
  std::string s = "usage: " + std::string(kGlobalSynopsis) + " VERB ...\n\n";
  s += "Controls a running blkgate daemon.\n\nverbs:\n" + VerbList({}) + "\n";
  s += kGlobalOptions;
  s += "\nOptions may come anywhere after the verb words, as --opt VALUE or --opt=VALUE.\n";
  s += "Sizes take K, M, G, T suffixes (powers of 1024). `blkgatectl VERB --help` for a verb.\n\n";
  s += kExitStatus;
  return s;
}

}  // namespace blkgate::ctl
