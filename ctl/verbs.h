// ctl/verbs.h — blkgatectl's verbs and help texts (help.cpp), shared with the parser (cli.cpp).
// Pure; the table is built once and immutable after.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "blkgate/ops.h"

namespace blkgate::ctl {

struct Verb {
  const ops::OpSpec* op;
  std::vector<std::string_view> words;
  std::vector<const ops::ArgSpec*> pos;   // positional arguments, in order
  std::vector<const ops::ArgSpec*> opts;  // options
};

// Every verb, in the registry's order.
const std::vector<Verb>& Verbs();
std::string Join(const std::vector<std::string_view>& words, std::string_view sep = " ");
// Whether v's words start with `words`.
bool HasPrefix(const Verb& v, const std::vector<std::string_view>& words);
// The help of a verb group ("blkgatectl volume --help") and of one verb.
std::string GroupHelp(const std::vector<std::string_view>& prefix);
std::string VerbHelp(const Verb& v);
// The distinct next words of the verbs under a prefix: "create, list, show, ...".
std::string NextWords(const std::vector<std::string_view>& prefix);

}  // namespace blkgate::ctl
