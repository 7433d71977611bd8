#pragma once
// `gencache stats`: statistics straight from the servers behind a cache URL.

#include <cstdio>

#include <gencache/backend.hpp>

namespace gencache::cli {

/// Prints, for each server behind `backend` (Backend::server_stats), the statistics an
/// operator of a gencache cache looks at first, to `out`; or, for a backend without
/// servers (memory://), a note saying where its counters are. Servers that did not answer
/// go to `err`. Returns the exit status: 0 when every server answered, 1 otherwise.
int print_server_stats(Backend& backend, std::FILE* out, std::FILE* err);

}  // namespace gencache::cli
