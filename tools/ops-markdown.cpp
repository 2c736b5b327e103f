// tools/ops-markdown — prints the operations table of docs/control-protocol.md from the
// operation registry (blkgate/ops.h), or with --results its results table. Regenerate with:
//   build/tools/ops-markdown [--results]   (paste between the ops:/results: begin/end markers)
// tests/unit/test_ops.cpp fails while the doc and the registry differ.
#include <cstdio>
#include <cstring>

#include "blkgate/ops.h"

int main(int argc, char** argv) {
  const bool results = argc > 1 && std::strcmp(argv[1], "--results") == 0;
  std::fputs((results ? blkgate::ops::ResultsMarkdown() : blkgate::ops::OpsMarkdown()).c_str(),
             stdout);
  return 0;
}
