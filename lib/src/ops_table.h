// lib/src/ops_table.h — the registry's table, private to lib/ (ops.h's All() and Find() are the
// public way in). Thread-safety: built on first use (function-local static), immutable after.
#pragma once

#include <vector>

#include "blkgate/ops.h"

namespace blkgate::ops {

// Every operation, in the order of the documentation.
const std::vector<OpSpec>& Table();

}  // namespace blkgate::ops
