#pragma once
/// \file
/// The whole public API in one include.

#include "gencache/async_backend.hpp"
#include "gencache/async_cache.hpp"
#include "gencache/backend.hpp"
#include "gencache/blocking_bridge.hpp"
#include "gencache/cache.hpp"
#include "gencache/cached_call.hpp"
#include "gencache/clock.hpp"
#include "gencache/codec.hpp"
#include "gencache/error.hpp"
#include "gencache/json_codec.hpp"
#include "gencache/memcached_async_backend.hpp"
#include "gencache/memcached_backend.hpp"
#include "gencache/memory_backend.hpp"
#include "gencache/namespace.hpp"
#include "gencache/redis_async_backend.hpp"
#include "gencache/redis_backend.hpp"
#include "gencache/testing.hpp"
#include "gencache/url_key.hpp"
#include "gencache/version.hpp"
