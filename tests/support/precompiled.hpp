#pragma once
// The headers most test programs include, compiled once per build (tests/CMakeLists.txt,
// target gencache_test_pch) instead of once per program: GoogleTest, Asio and the
// library's own API make up most of a test program's compile time. A test still includes
// what it uses; this list only makes that cheaper.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include "gencache/async_cache.hpp"
#include "gencache/cache.hpp"
#include "gencache/error.hpp"
#include "gencache/memory_backend.hpp"
#include "gencache/testing.hpp"
