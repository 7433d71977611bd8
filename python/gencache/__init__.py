"""gencache: caching with O(1) invalidation through versioned namespaces.

    import gencache
    cache = gencache.Cache.from_url("memcached://127.0.0.1:11211")
    user = gencache.ns("user", 42)
    body = cache.cached("/dashboard?page=2", [user], ttl=600, compute=lambda: render(42, 2))
    cache.bump_namespace(user)   # after the write commits

The C++ library underneath (gencache._native) shares entries and bumps with C++ services
on the same servers. Django integration: gencache.django.
"""

from ._native import BackendError, ConfigError, Error, __version__
from .cache import Cache, ns

__all__ = ["Cache", "ns", "Error", "ConfigError", "BackendError", "__version__"]
