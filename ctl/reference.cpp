// ctl/reference.cpp — see reference.h.
#include "reference.h"

#include <set>
#include <string_view>

#include "blkgate/model.h"
#include "blkgate/ops.h"
#include "blkgate/result.h"
#include "verbs.h"

namespace blkgate::ctl {

using ops::ArgForm;
using ops::ArgSpec;
using ops::ArgType;

namespace {

// scdoc's inline markup (*bold*, _underline_) and its escape character, made literal.
std::string Escape(std::string_view text) {
  std::string s;
  for (char c : text) {
    if (c == '\\' || c == '*' || c == '_') s += '\\';
    s += c;
  }
  return s;
}

// Text as scdoc paragraphs: the registry's line breaks are kept (scdoc's "++" ends a line),
// and a line starting with '-' is not taken for a list.
std::string Paragraph(std::string_view text, std::string_view indent = "") {
  std::string s(indent);
  bool line_start = true;
  for (char c : text) {
    if (c == '\n') {
      s += " ++\n";
      s += indent;
      line_start = true;
      continue;
    }
    if (line_start && c == '-') s += '\\';
    line_start = false;
    s += Escape(std::string_view(&c, 1));
  }
  return s + "\n";
}

std::string ArgSynopsis(const ArgSpec& a) {
  if (a.form == ArgForm::positional) {
    std::string s = "_" + Escape(a.cli) + "_";
    if (a.type == ArgType::names) s += " [_" + Escape(a.cli) + "_...]";
    return s;
  }
  std::string s = "*" + Escape(a.cli) + "*";
  if (a.type != ArgType::flag) s += " _" + Escape(a.meta) + "_";
  return a.required ? s : "[" + s + "]";
}

// The words a value of this type may be, for completion; empty when anything goes.
std::string Choices(ArgType t) {
  std::string s;
  switch (t) {
    case ArgType::on_off:
      return "on off";
    case ArgType::drive_status:
      for (int i = 0; ToString(static_cast<DriveStatus>(i)) != "unknown"; ++i)
        s += (i ? " " : "") + std::string(ToString(static_cast<DriveStatus>(i)));
      return s;
    case ArgType::backend:
      for (int i = 0; ToString(static_cast<BackendKind>(i)) != "unknown"; ++i)
        s += (i ? " " : "") + std::string(ToString(static_cast<BackendKind>(i)));
      return s;
    default:
      return s;
  }
}

// How the completion completes a value: "obj:KIND", "ref", "file", "dir", "word:A,B" or "-".
std::string CompletionOf(const ArgSpec& a) {
  switch (a.type) {
    case ArgType::name:
    case ArgType::names:
      return "obj:" + std::string(a.kind);
    case ArgType::object_ref:
      return "ref";
    case ArgType::file:
      return "file";
    case ArgType::dir:
      return "dir";
    default: {
      std::string c = Choices(a.type);
      for (char& ch : c)
        if (ch == ' ') ch = ',';
      return c.empty() ? "-" : "word:" + c;
    }
  }
}

}  // namespace

std::string ScdocVerbs() {
  std::string s;
  for (const Verb& v : Verbs()) {
    s += "## " + Escape(Join(v.words));
    s += "\n\n*blkgatectl " + Escape(Join(v.words)) + "*";
    for (const ArgSpec* p : v.pos) s += " " + ArgSynopsis(*p);
    for (const ArgSpec* o : v.opts) s += " " + ArgSynopsis(*o);
    s += "\n\n" + Paragraph(v.op->summary) + "\n" + Paragraph(v.op->details) + "\n";
    if (v.op->local) s += "Answered by blkgatectl itself; no daemon needed.\n\n";
    s += "Who may call it: " + std::string(ops::ToString(v.op->role)) + ".\n\n";
    for (const ArgSpec* o : v.opts) {
      s += "*" + Escape(o->cli) + "*";
      if (o->type != ArgType::flag) s += " _" + Escape(o->meta) + "_";
      s += "\n" + Paragraph(std::string(o->help) + (o->required ? " (required)" : ""), "\t") + "\n";
    }
  }
  return s;
}

std::string ScdocResults() {
  std::string s;
  for (int i = 0; i < kCodeCount; ++i) {
    const Code c = static_cast<Code>(i);
    s += "*" + Escape(CodeName(c)) + "* (exit " + std::to_string(CodeExitStatus(c)) + ")\n" +
         Paragraph(CodeMeaning(c), "\t") + "\n";
  }
  return s;
}

std::string BashCompletion() {
  std::string verbs, table;
  std::set<std::string_view> valued{"--socket", "--timeout"};
  for (const Verb& v : Verbs()) {
    const std::string key = Join(v.words);
    verbs += "\t'" + key + "'\n";
    std::string spec;
    for (const ArgSpec* p : v.pos)
      spec += " p:" + CompletionOf(*p) + (p->type == ArgType::names ? ":more" : "");
    for (const ArgSpec* o : v.opts) {
      if (o->type == ArgType::flag) {
        spec += " f:" + std::string(o->cli);
      } else {
        spec += " o:" + std::string(o->cli) + ":" + CompletionOf(*o);
        valued.insert(o->cli);
      }
    }
    table += "\t['" + key + "']='" + spec + "'\n";
  }
  std::string valued_list;
  for (std::string_view o : valued) valued_list += " " + std::string(o);

  return "# bash completion for blkgatectl(8). Generated from blkgate's operation registry by\n"
         "# tools/docgen; do not edit. Object names come from the running daemon\n"
         "# (blkgatectl list --names), within 2 seconds or not at all.\n"
         "\n"
         "_blkgatectl_verbs=(\n" +
         verbs +
         ")\n"
         "# Per verb: p:HOW positionals in order (:more repeats the last), o:--OPT:HOW options\n"
         "# with a value, f:--FLAG flags. HOW: obj:KIND, ref (KIND/NAME), file, dir,\n"
         "# word:A,B, - (anything).\n"
         "declare -gA _blkgatectl_args=(\n" +
         table +
         ")\n"
         "_blkgatectl_valued='" +
         valued_list +
         " '\n"
         "\n"
         "# Objects from the daemon, as KIND/NAME lines.\n"
         "_blkgatectl_objects() {\n"
         "\tlocal args=(--timeout 2)\n"
         "\t[[ -n ${_blkgatectl_socket-} ]] && args+=(--socket \"$_blkgatectl_socket\")\n"
         "\tblkgatectl \"${args[@]}\" list --names 2>/dev/null\n"
         "}\n"
         "\n"
         "# COMPREPLY for a value completed as $1.\n"
         "_blkgatectl_value() {\n"
         "\tlocal how=$1 cur=$2 kind line names=()\n"
         "\tcase $how in\n"
         "\tobj:*)\n"
         "\t\tkind=${how#obj:}\n"
         "\t\twhile IFS= read -r line; do\n"
         "\t\t\t[[ $line == \"$kind\"/* ]] && names+=(\"${line#*/}\")\n"
         "\t\tdone < <(_blkgatectl_objects)\n"
         "\t\tmapfile -t COMPREPLY < <(compgen -W \"${names[*]}\" -- \"$cur\") ;;\n"
         "\tref) mapfile -t COMPREPLY < <(compgen -W \"$(_blkgatectl_objects)\" -- \"$cur\") ;;\n"
         "\tfile) mapfile -t COMPREPLY < <(compgen -f -- \"$cur\") ;;\n"
         "\tdir) mapfile -t COMPREPLY < <(compgen -d -- \"$cur\") ;;\n"
         "\tword:*)\n"
         "\t\tkind=${how#word:}\n"
         "\t\tmapfile -t COMPREPLY < <(compgen -W \"${kind//,/ }\" -- \"$cur\") ;;\n"
         "\t*) COMPREPLY=() ;;\n"
         "\tesac\n"
         "}\n"
         "\n"
         "_blkgatectl() {\n"
         "\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}\n"
         "\tlocal i w o words=() verb='' v spec item next=() opts=() pos=() how\n"
         "\t_blkgatectl_socket=\n"
         "\tCOMPREPLY=()\n"
         "\t# The words typed so far, without options and their values.\n"
         "\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
         "\t\tw=${COMP_WORDS[i]}\n"
         "\t\tif [[ $w == --socket ]]; then _blkgatectl_socket=${COMP_WORDS[i + 1]-}; fi\n"
         "\t\tif [[ $w == -* ]]; then\n"
         "\t\t\t[[ $w != *=* && $_blkgatectl_valued == *\" $w \"* ]] && ((i++))\n"
         "\t\t\tcontinue\n"
         "\t\tfi\n"
         "\t\twords+=(\"$w\")\n"
         "\tdone\n"
         "\t# The verb: the verb words at the start of them.\n"
         "\tfor v in \"${_blkgatectl_verbs[@]}\"; do\n"
         "\t\tread -ra w <<<\"$v\"\n"
         "\t\t[[ \"${words[*]:0:${#w[@]}}\" == \"$v\" ]] && verb=$v\n"
         "\tdone\n"
         "\tif [[ -z $verb ]]; then\n"
         "\t\tif [[ $cur == -* ]]; then\n"
         "\t\t\tmapfile -t COMPREPLY < <(compgen -W '--socket --timeout --json --help' -- "
         "\"$cur\")\n"
         "\t\t\treturn\n"
         "\t\tfi\n"
         "\t\tfor v in \"${_blkgatectl_verbs[@]}\"; do\n"
         "\t\t\tread -ra w <<<\"$v\"\n"
         "\t\t\t((${#w[@]} > ${#words[@]})) || continue\n"
         "\t\t\t[[ \"${w[*]:0:${#words[@]}}\" == \"${words[*]}\" ]] || continue\n"
         "\t\t\t[[ \" ${next[*]} \" == *\" ${w[${#words[@]}]} \"* ]] || "
         "next+=(\"${w[${#words[@]}]}\")\n"
         "\t\tdone\n"
         "\t\tmapfile -t COMPREPLY < <(compgen -W \"${next[*]}\" -- \"$cur\")\n"
         "\t\treturn\n"
         "\tfi\n"
         "\tspec=${_blkgatectl_args[$verb]}\n"
         "\tfor item in $spec; do\n"
         "\t\tcase $item in\n"
         "\t\tp:*) pos+=(\"${item#p:}\") ;;\n"
         "\t\to:*) o=${item#o:}; opts+=(\"${o%%:*}\")\n"
         "\t\t\t[[ $prev == \"${o%%:*}\" ]] && { _blkgatectl_value \"${o#*:}\" \"$cur\"; return; } "
         ";;\n"
         "\t\tf:*) opts+=(\"${item#f:}\") ;;\n"
         "\t\tesac\n"
         "\tdone\n"
         "\tcase $prev in\n"
         "\t--socket) mapfile -t COMPREPLY < <(compgen -f -- \"$cur\"); return ;;\n"
         "\t--timeout) return ;;\n"
         "\tesac\n"
         "\tif [[ $cur == -* ]]; then\n"
         "\t\tmapfile -t COMPREPLY < <(compgen -W \"${opts[*]} --socket --timeout --json --help\" "
         "-- \"$cur\")\n"
         "\t\treturn\n"
         "\tfi\n"
         "\tread -ra w <<<\"$verb\"\n"
         "\ti=$((${#words[@]} - ${#w[@]}))\n"
         "\t((${#pos[@]})) || return\n"
         "\tif ((i >= ${#pos[@]})); then\n"
         "\t\t[[ ${pos[-1]} == *:more ]] || return\n"
         "\t\ti=$((${#pos[@]} - 1))\n"
         "\tfi\n"
         "\thow=${pos[i]%:more}\n"
         "\t_blkgatectl_value \"$how\" \"$cur\"\n"
         "}\n"
         "complete -F _blkgatectl blkgatectl\n";
}

}  // namespace blkgate::ctl
