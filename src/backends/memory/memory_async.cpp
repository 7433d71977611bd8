// MemoryBackend as an AsyncBackend: nothing waits on I/O, so each operation completes
// inside the initiating call.

#include "backends/complete_with.hpp"
#include "gencache/memory_backend.hpp"

namespace gencache {

void MemoryBackend::async_visit_many(std::span<const std::string_view> keys, ValueVisitor& visitor,
                                     handler<void(std::exception_ptr)> done) {
  detail::complete_with(std::move(done), *this, [&] { visit_many(keys, visitor); });
}

void MemoryBackend::async_set(std::string_view key, std::string_view value,
                              std::chrono::milliseconds ttl,
                              handler<void(std::exception_ptr)> done) {
  detail::complete_with(std::move(done), *this, [&] { set(key, value, ttl); });
}

void MemoryBackend::async_add(std::string_view key, std::string_view value,
                              std::chrono::milliseconds ttl,
                              handler<void(std::exception_ptr, bool)> done) {
  detail::complete_with(std::move(done), *this, [&] { return add(key, value, ttl); });
}

void MemoryBackend::async_remove(std::string_view key,
                                 handler<void(std::exception_ptr, bool)> done) {
  detail::complete_with(std::move(done), *this, [&] { return remove(key); });
}

void MemoryBackend::async_increment(
    std::string_view key, std::uint64_t delta,
    handler<void(std::exception_ptr, std::optional<std::uint64_t>)> done) {
  detail::complete_with(std::move(done), *this, [&] { return increment(key, delta); });
}

void MemoryBackend::async_increment_many(
    std::span<const std::string_view> keys, std::uint64_t delta,
    handler<void(std::exception_ptr, std::vector<CounterIncrement>)> done) {
  detail::complete_with(std::move(done), *this, [&] { return increment_many(keys, delta); });
}

void MemoryBackend::async_create_counter(std::string_view key, std::uint64_t initial,
                                         std::chrono::milliseconds ttl,
                                         handler<void(std::exception_ptr, bool)> done) {
  detail::complete_with(std::move(done), *this, [&] { return create_counter(key, initial, ttl); });
}

}  // namespace gencache
