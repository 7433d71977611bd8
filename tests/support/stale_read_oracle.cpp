#include "support/stale_read_oracle.hpp"

#include <cstdio>

namespace gencache::test {

void print_oracle_result(const char* what, const OracleResult& result, const Stats& stats) {
  std::printf(
      "[ %-8s ] reads=%lu stale=%lu bumps=%lu failed_bumps=%lu hits=%lu errors=%lu "
      "recreations=%lu\n",
      what, static_cast<unsigned long>(result.reads),
      static_cast<unsigned long>(result.stale_reads), static_cast<unsigned long>(result.bumps),
      static_cast<unsigned long>(result.failed_bumps),
      static_cast<unsigned long>(result.cache_hits), static_cast<unsigned long>(stats.errors),
      static_cast<unsigned long>(stats.counter_recreations));
}

}  // namespace gencache::test
