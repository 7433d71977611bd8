#pragma once
// Internal: the Lua script behind Backend::increment.

#include <string>
#include <string_view>

namespace gencache::detail {

/// Adds ARGV[1] to the counter KEYS[1] and returns the new value, or nil when the counter
/// is absent: unlike INCRBY, it never creates a counter at 0, which a reader could take
/// for a generation already used. Atomic, as every Redis script is.
inline constexpr std::string_view kIncrementIfExistsScript =
    "if redis.call('EXISTS', KEYS[1]) == 1 then "
    "return redis.call('INCRBY', KEYS[1], ARGV[1]) "
    "end "
    "return false";

/// The script's SHA-1 in lowercase hex, the name EVALSHA knows it by; empty when
/// libcrypto offers no SHA-1 (a FIPS-only build), and then the script goes by EVAL.
std::string script_sha1(std::string_view script);

}  // namespace gencache::detail
