#pragma once

/// The one place the version is defined; CMake reads it from here.
#define GENCACHE_VERSION_MAJOR 0
#define GENCACHE_VERSION_MINOR 1
#define GENCACHE_VERSION_PATCH 0

#define GENCACHE_VERSION \
  (GENCACHE_VERSION_MAJOR * 10000 + GENCACHE_VERSION_MINOR * 100 + GENCACHE_VERSION_PATCH)
