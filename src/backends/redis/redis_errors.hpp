#pragma once
// Internal: hiredis failures and Redis error replies as gencache errors.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "gencache/error.hpp"

namespace gencache::detail {

/// What an error reply (`-OOM ...`, `-NOAUTH ...`) means to a caller, from its first word:
/// OOM and READONLY refused a write (not_stored); NOAUTH, WRONGPASS, NOPERM, LOADING,
/// BUSY, MASTERDOWN, TRYAGAIN and CLUSTERDOWN say the server cannot serve us now
/// (backend_unavailable); anything else is unexpected (protocol).
errc redis_reply_errc(std::string_view error_reply) noexcept;

/// What a failed hiredis call means: `type` is the context's REDIS_ERR_* and
/// `saved_errno` the errno right after the call. Socket timeouts are errc::timeout, a
/// malformed reply errc::protocol, everything else (refused, reset, closed, unresolvable
/// host) errc::backend_unavailable.
errc redis_io_errc(int type, int saved_errno) noexcept;

/// A Redis Cluster redirect: `MOVED <slot> <host>:<port>` (the slot lives there now) or
/// `ASK <slot> <host>:<port>` (this one key is being migrated there: ask it once, after
/// ASKING).
struct RedisRedirect {
  bool ask = false;
  std::uint16_t slot = 0;
  std::string host;  ///< as the server wrote it; IPv6 without brackets
  std::uint16_t port = 0;
};

/// Whether a call is sent after ASKING (it follows an ASK redirect to this node).
enum class Asking { no, yes };

/// The redirect an error reply carries, or nullopt for any other error (or a malformed
/// MOVED/ASK).
std::optional<RedisRedirect> parse_redis_redirect(std::string_view error_reply);

/// An error reply that is a MOVED or ASK redirect, thrown by a node so that a cluster
/// client can follow it. Outside a cluster client it is an ordinary errc::protocol error.
class redis_redirect_error : public backend_error {
 public:
  redis_redirect_error(RedisRedirect redirect, const std::string& what)
      : backend_error(errc::protocol, what), redirect_(std::move(redirect)) {}
  const RedisRedirect& redirect() const noexcept { return redirect_; }

 private:
  RedisRedirect redirect_;
};

/// A Backend member's name as the plain words a message uses: the reader of an error hook
/// did a read, a write or a bump, and never called "visit_many" (get_many and visit_many
/// are "read", set "write", remove "delete", increment "counter increment",
/// create_counter "counter creation"; anything else is returned as it is).
std::string_view redis_operation_words(std::string_view operation) noexcept;

/// Throws backend_error(code) with the message "<server>: <operation> failed: <account>",
/// `operation` put in redis_operation_words. `server` is a description, never credentials.
[[noreturn]] void throw_redis_error(std::string_view server, std::string_view operation, errc code,
                                    std::string_view account);

}  // namespace gencache::detail
