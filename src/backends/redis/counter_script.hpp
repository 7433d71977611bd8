#pragma once
// Internal: the Lua script behind Backend::increment.

#include <string>
#include <string_view>

namespace gencache::detail {

/// Adds ARGV[1] to the counter KEYS[1] and returns its new value as decimal text, or nil
/// when the counter is absent: unlike INCRBY, it never creates a counter at 0, which a
/// reader could take for a generation already used. Atomic, as every Redis script is.
/// The value is read back with GET rather than returned from INCRBY: an integer reply
/// becomes a Lua number, a double, which rounds generations above 2^53 (most fresh ones)
/// to a multiple of up to 512, so a bump could even report the generation it replaced.
inline constexpr std::string_view kIncrementIfExistsScript =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return false end "
    "redis.call('INCRBY', KEYS[1], ARGV[1]) "
    "return redis.call('GET', KEYS[1])";

/// kIncrementIfExistsScript for every key of KEYS in one atomic call: the reply is an
/// array with, per key, its new value as decimal text or nil when it is absent. All keys
/// must live on one node (one server, or one cluster slot).
inline constexpr std::string_view kIncrementManyIfExistScript =
    "local out = {} "
    "for i, key in ipairs(KEYS) do "
    "if redis.call('EXISTS', key) == 1 then "
    "redis.call('INCRBY', key, ARGV[1]) out[i] = redis.call('GET', key) "
    "else out[i] = false end "
    "end "
    "return out";

/// The script's SHA-1 in lowercase hex, the name EVALSHA knows it by; empty when
/// libcrypto offers no SHA-1 (a FIPS-only build), and then the script goes by EVAL.
std::string script_sha1(std::string_view script);

}  // namespace gencache::detail
