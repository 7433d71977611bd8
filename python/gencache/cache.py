"""gencache.Cache: the C++ Cache for Python values (see values.py for the mapping)."""

import datetime
import math

from . import _native, values

_MISSING = object()


def ns(kind, *parts):
    """The namespace name ``kind:part:part...``, by gencache::ns's rules: integers in
    decimal, and ``:`` and ``%`` inside the kind or a part escaped, so ``ns("a", "1:2")``
    (``a:1%3A2``) and ``ns("a", 1, 2)`` (``a:1:2``) differ. Raises TypeError for a part
    that is neither str nor int, ValueError for an empty name."""
    texts = []
    for part in parts:
        if isinstance(part, bool) or not isinstance(part, (str, int)):
            raise TypeError(f"gencache.ns parts must be str or int, not {type(part).__name__}")
        texts.append(str(part))
    if not isinstance(kind, str):
        raise TypeError(f"gencache.ns kind must be a str, not {type(kind).__name__}")
    return _native.namespace_name(kind, texts)


def _ttl_ms(ttl):
    """`ttl` (seconds as int or float, or a timedelta) in whole milliseconds, rounded up."""
    if isinstance(ttl, datetime.timedelta):
        seconds = ttl.total_seconds()
    elif isinstance(ttl, (int, float)) and not isinstance(ttl, bool):
        seconds = ttl
    else:
        raise TypeError(f"gencache: ttl must be seconds (int or float) or a timedelta, "
                        f"not {type(ttl).__name__}")
    if not seconds > 0 or math.isinf(seconds):
        raise ValueError(f"gencache: ttl must be a positive, finite duration, got {ttl!r}")
    return math.ceil(seconds * 1000)


def _names(namespaces):
    """The namespace names of `namespaces`: one name, or an iterable of names."""
    if isinstance(namespaces, str):
        return [namespaces]
    names = list(namespaces)
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"gencache: namespaces are names (str, see gencache.ns), "
                            f"not {type(name).__name__}")
    return names


def _key(key):
    if not isinstance(key, (str, bytes)):
        raise TypeError(f"gencache: a key is a str or bytes, not {type(key).__name__}")
    return key


class Cache:
    """A handle to a cache. One Cache may be used from any number of threads; the GIL is
    released while it waits for the backend. `namespaces` is one name (``gencache.ns``)
    or an iterable of names, in any order; keys are str or bytes; TTLs are seconds or
    timedeltas."""

    def __init__(self, native):
        if not isinstance(native, _native.Cache):
            raise TypeError("gencache.Cache is made with Cache.from_url or Cache.from_env")
        self._native = native

    @classmethod
    def from_url(cls, url, on_error=None):
        """A cache on `url` (``memory://``, ``memcached://host:port``, ``redis://host``...).
        Raises gencache.ConfigError naming the bad scheme, parameter or value.

        `on_error(operation, code, message)` is called for every backend failure the
        cache absorbs (operation "read", "write", "bump" or "generation"; code as in
        BackendError.code), from whichever thread met it; it must not raise (an exception
        goes to sys.unraisablehook)."""
        return cls(_native.Cache.from_url(url, on_error))

    @classmethod
    def from_env(cls, on_error=None):
        """from_url with the URL in GENCACHE_URL, or ``memory://`` when unset or empty."""
        return cls(_native.Cache.from_env(on_error))

    def cached(self, key, namespaces, ttl, compute):
        """The value cached for (`key`, `namespaces`) at their current generations, or
        ``compute()`` run once (once per process for concurrent callers), cached for
        `ttl` and returned. Generations are read before `compute` runs. An exception from
        `compute` reaches the caller unchanged and nothing is cached. A backend failure
        is counted and otherwise ignored: `compute` runs and its value is returned. The
        value returned is always what the cache holds (a dict's int keys become str, as
        JSON has them)."""
        key, names, ttl_ms = _key(key), _names(namespaces), _ttl_ms(ttl)
        payload = self._native.cached(key, names, ttl_ms, lambda: values.encode(compute()))
        return values.decode(payload)

    def get(self, key, namespaces, default=None):
        """The value cached for (`key`, `namespaces`), or `default` on a miss. A cached
        None is returned as None. A backend failure is a miss (counted in stats)."""
        found, payload = self._native.get(_key(key), _names(namespaces))
        return values.decode(payload) if found else default

    def set(self, key, namespaces, value, ttl):
        """Stores `value` for (`key`, `namespaces`) under their current generations. A
        backend failure or an oversized value leaves the cache unchanged (counted)."""
        payload = values.encode(value)
        self._native.set(_key(key), _names(namespaces), payload, _ttl_ms(ttl))

    def bump_namespace(self, namespace):
        """Invalidates every entry that depends on `namespace`, in O(1); returns the new
        generation. Raises gencache.BackendError on failure: invalidation is never
        silent. The error's ``code`` says why ("timeout", "backend_unavailable",
        "circuit_open"...); a bump that timed out may have been applied, and is safe to
        retry."""
        return self._native.bump_namespace(namespace)

    def bump_namespaces(self, namespaces):
        """Bumps every one of `namespaces` (for a write that touched several) and returns
        their new generations in order: one round trip on Redis and memory://, one per
        namespace on Memcached. Not atomic across namespaces: when some fail, the others
        are still bumped, and gencache.BackendError is raised with ``not_bumped`` (exactly
        the names that were not bumped), ``generations`` (0 at each of those) and the
        first failure's ``code``. Never silent."""
        return self._native.bump_namespaces(_names(namespaces))

    def generation(self, namespace):
        """The current generation of `namespace`, creating its counter if absent. Raises
        gencache.BackendError on failure."""
        return self._native.generation(namespace)

    def flush_pending_bumps(self, timeout):
        """Waits until the bump outbox is empty or `timeout` seconds pass; True if empty."""
        return self._native.flush_pending_bumps(float(timeout))

    def stats(self):
        """The counters shared by this cache and its copies, as a dict (hits, misses,
        sets, bumps, errors, computes, round_trips, coalesced...)."""
        return self._native.stats()

    def __repr__(self):
        return f"<gencache.Cache {self._native.describe()}>"
