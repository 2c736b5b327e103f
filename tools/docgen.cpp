// tools/docgen — prints what the build generates from the operation registry
// (ctl/reference.h):
//   docgen man TEMPLATE   TEMPLATE (scdoc) with its @VERBS@ and @RESULTS@ lines replaced
//   docgen bash-completion
// man/meson.build and completion/meson.build run it; scdoc turns the man page into roff.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "reference.h"

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "bash-completion") == 0) {
    std::fputs(blkgate::ctl::BashCompletion().c_str(), stdout);
    return 0;
  }
  if (argc == 3 && std::strcmp(argv[1], "man") == 0) {
    std::ifstream in(argv[2]);
    if (!in) {
      std::fprintf(stderr, "docgen: cannot read %s\n", argv[2]);
      return 1;
    }
    std::string line, out;
    while (std::getline(in, line)) {
      if (line == "@VERBS@") {
        out += blkgate::ctl::ScdocVerbs();
      } else if (line == "@RESULTS@") {
        out += blkgate::ctl::ScdocResults();
      } else {
        out += line + "\n";
      }
    }
    std::fputs(out.c_str(), stdout);
    return 0;
  }
  std::fputs("usage: docgen man TEMPLATE | docgen bash-completion\n", stderr);
  return 2;
}
