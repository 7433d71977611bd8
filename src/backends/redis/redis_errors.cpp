#include "backends/redis/redis_errors.hpp"

#include <hiredis/hiredis.h>

#include <array>
#include <cerrno>

#include <fmt/format.h>

namespace gencache::detail {
namespace {

constexpr std::array<std::string_view, 2> kRefusedWrites = {"OOM", "READONLY"};
constexpr std::array<std::string_view, 8> kUnavailable = {
    "NOAUTH", "WRONGPASS", "NOPERM", "LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN"};

bool has_first_word(std::string_view text, std::string_view word) {
  return text.starts_with(word) && (text.size() == word.size() || text[word.size()] == ' ');
}

template <std::size_t N>
bool first_word_in(std::string_view text, const std::array<std::string_view, N>& words) {
  for (std::string_view word : words)
    if (has_first_word(text, word)) return true;
  return false;
}

}  // namespace

std::string_view redis_operation_words(std::string_view operation) noexcept {
  if (operation == "get_many" || operation == "visit_many") return "read";
  if (operation == "set") return "write";
  if (operation == "remove") return "delete";
  if (operation == "increment") return "counter increment";
  if (operation == "create_counter") return "counter creation";
  return operation;
}

errc redis_reply_errc(std::string_view error_reply) noexcept {
  if (first_word_in(error_reply, kRefusedWrites)) return errc::not_stored;
  if (first_word_in(error_reply, kUnavailable)) return errc::backend_unavailable;
  return errc::protocol;
}

errc redis_io_errc(int type, int saved_errno) noexcept {
  if (type == REDIS_ERR_PROTOCOL) return errc::protocol;
  if (type == REDIS_ERR_IO &&
      (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK || saved_errno == ETIMEDOUT))
    return errc::timeout;
  return errc::backend_unavailable;
}

void throw_redis_error(std::string_view server, std::string_view operation, errc code,
                       std::string_view account) {
  throw backend_error(
      code, fmt::format("{}: {} failed: {}", server, redis_operation_words(operation), account));
}

}  // namespace gencache::detail
