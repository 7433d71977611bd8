#pragma once
// Internal: class-specific allocation for the requests a client makes and frees at a high
// rate (one per read), recycling freed blocks as Asio recycles its handlers' memory.

#include <cstddef>
#include <new>

namespace gencache::net {

/// A base of `T` (a final class) whose objects are allocated from a small cache of blocks
/// per thread: a `new T` takes one this thread freed before, a delete keeps up to `kKept`
/// (the rest go back to malloc), and a thread's blocks are freed when it exits. When a
/// completion starts the next read, the new request is made and the old one freed on the
/// same thread, so a block is almost always at hand: at 64 reads in flight malloc and free
/// took some 180 instructions per read, this takes a few. Sanitized builds do not
/// recycle, so that a use after free is still seen.
template <class T, std::size_t kKept = 64>
class Recycled {
 public:
  static void* operator new(std::size_t size) {
    Cache& cache = cache_;
    if (kRecycles && size == sizeof(T) && cache.count > 0) return cache.blocks[--cache.count];
    return ::operator new(size);
  }

  static void operator delete(void* block, std::size_t size) noexcept {
    Cache& cache = cache_;
    if (kRecycles && size == sizeof(T) && !cache.closed && cache.count < kKept) {
      if (cache.count == 0) {
        thread_local const Reaper reaper;  // registered once per thread, on its first block
      }
      cache.blocks[cache.count++] = block;
      return;
    }
    ::operator delete(block);
  }

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  static constexpr bool kRecycles = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
  static constexpr bool kRecycles = false;
#else
  static constexpr bool kRecycles = true;
#endif
#else
  static constexpr bool kRecycles = true;
#endif

 private:
  // Trivially destructible, so it stays usable while the thread's other thread_local
  // objects are destroyed (one of them may free a request); the Reaper empties it first
  // and closes it.
  struct Cache {
    void* blocks[kKept];
    std::size_t count;
    bool closed;
  };
  struct Reaper {
    ~Reaper() {
      Cache& cache = cache_;
      cache.closed = true;
      while (cache.count > 0) ::operator delete(cache.blocks[--cache.count]);
    }
  };
  static constinit inline thread_local Cache cache_{};
};

}  // namespace gencache::net
