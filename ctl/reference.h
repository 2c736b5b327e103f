// ctl/reference.h — blkgatectl's reference texts generated from the operation registry (the
// same Verbs() the parser and --help read): the VERBS and RESULTS sections of the man page
// blkgatectl(8), in scdoc's markup, and the bash completion script. tools/docgen prints them at
// build time (man/meson.build, completion/meson.build), so a verb or option added to the
// registry appears in both without another edit. Pure.
#pragma once

#include <string>

namespace blkgate::ctl {

// One "## blkgatectl VERB ..." subsection per verb: synopsis, summary, details, options.
std::string ScdocVerbs();
// Every result with its exit status and meaning.
std::string ScdocResults();
// The bash completion of blkgatectl: verbs, options and their values, object names from the
// running daemon (`blkgatectl list --names`).
std::string BashCompletion();

}  // namespace blkgate::ctl
