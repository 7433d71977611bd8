#include "gencache/clock.hpp"

namespace gencache {
namespace {

class SystemClock final : public Clock {
 public:
  time_point now() const noexcept override { return std::chrono::system_clock::now(); }
};

}  // namespace

std::shared_ptr<const Clock> system_clock() {
  static const auto clock = std::make_shared<const SystemClock>();
  return clock;
}

}  // namespace gencache
