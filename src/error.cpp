#include "gencache/error.hpp"

namespace gencache {
namespace {

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "gencache"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::backend_unavailable:
        return "backend unavailable";
      case errc::timeout:
        return "backend timed out";
      case errc::protocol:
        return "unexpected answer from the backend";
      case errc::value_too_large:
        return "value exceeds the backend's item size limit";
      case errc::corrupt_value:
        return "stored bytes are not a valid gencache entry";
      case errc::not_stored:
        return "the backend did not store the item";
      case errc::config:
        return "invalid configuration";
      case errc::circuit_open:
        return "circuit breaker open: backend skipped";
      case errc::outbox_full:
        return "bump outbox full: invalidation dropped";
    }
    return "unknown gencache error";
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const Category category;
  return category;
}

}  // namespace gencache
