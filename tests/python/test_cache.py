"""gencache.Cache from Python: the C++ Cache's promises, on memory://, memcached and redis."""

import sys
import threading
import time

import pytest

import gencache
import servers


@pytest.fixture
def cache(cache_url):
    return gencache.Cache.from_url(cache_url)


def unreachable_url(scheme):
    """A URL whose server refuses every connection."""
    port = servers.refusing_port()
    return f"{scheme}://127.0.0.1:{port}?connect_timeout=50ms&io_timeout=50ms"


def test_cached_computes_once_then_hits(cache):
    calls = []
    for _ in range(3):
        value = cache.cached("/dashboard?page=2", [gencache.ns("user", 42)], ttl=60,
                             compute=lambda: calls.append(1) or "page two")
        assert value == "page two"
    assert len(calls) == 1
    assert cache.stats()["hits"] == 2


def test_bump_makes_old_entries_unreachable(cache):
    user = gencache.ns("user", 42)
    cache.set("profile", [user], "old", ttl=60)
    before = cache.generation(user)
    after = cache.bump_namespace(user)
    assert after != before
    assert cache.get("profile", [user], default="miss") == "miss"
    assert cache.cached("profile", [user], 60, lambda: "new") == "new"


def test_bump_leaves_other_namespaces_alone(cache):
    cache.set("profile", [gencache.ns("user", 1)], "one", ttl=60)
    cache.bump_namespace(gencache.ns("user", 2))
    assert cache.get("profile", [gencache.ns("user", 1)]) == "one"


def test_namespaces_are_part_of_the_entry_identity(cache):
    cache.set("/dashboard", ["user:1"], "one", ttl=60)
    cache.set("/dashboard", ["user:2"], "two", ttl=60)
    assert cache.get("/dashboard", "user:1") == "one"
    assert cache.get("/dashboard", ["user:2"]) == "two"


@pytest.mark.parametrize("value", [
    "text", "", "café ☕", '{"a": 1}', "[1, 2]", b"\x00\xffbytes", b"", 0, -1, 2**63 - 1,
    -2**63, 1.5, -0.0, float("inf"), True, False, None, {}, [], {"a": [1, {"b": None}]},
    [1, "two", 3.0, False],
], ids=repr)
def test_every_value_type_round_trips_with_its_type(cache, value):
    cache.set("value", ["kind:test"], value, ttl=60)
    got = cache.get("value", ["kind:test"], default=KeyError)
    assert got == value and type(got) is type(value)
    assert cache.cached("value", ["kind:test"], 60, lambda: pytest.fail("recomputed")) == value


def test_falsy_and_none_results_are_cached_not_recomputed(cache):
    for index, falsy in enumerate([None, "", 0, False, [], {}, b""]):
        calls = []
        key = f"falsy-{index}"
        for _ in range(2):
            assert cache.cached(key, ["ns"], 60, lambda: calls.append(1) or falsy) == falsy
        assert len(calls) == 1, falsy


def test_get_returns_default_on_a_miss_and_none_for_a_cached_none(cache):
    sentinel = object()
    assert cache.get("never-set", ["ns"], default=sentinel) is sentinel
    cache.set("none", ["ns"], None, ttl=60)
    assert cache.get("none", ["ns"], default=sentinel) is None


def test_compute_exceptions_reach_the_caller_unchanged_and_nothing_is_cached(cache):
    class RenderFailed(Exception):
        pass

    error = RenderFailed("db down")

    def failing():
        raise error

    with pytest.raises(RenderFailed) as raised:
        cache.cached("page", ["ns"], 60, failing)
    assert raised.value is error
    assert cache.cached("page", ["ns"], 60, lambda: "computed again") == "computed again"


def test_a_value_outside_the_mapping_is_a_clear_type_error(cache):
    with pytest.raises(TypeError, match="cannot store a value of type tuple: expected str, bytes"):
        cache.set("k", ["ns"], (1, 2), ttl=60)
    with pytest.raises(TypeError, match="cannot store a value of type object"):
        cache.cached("k", ["ns"], 60, object)
    with pytest.raises(ValueError, match="does not fit in 64 bits"):
        cache.set("k", ["ns"], 2**64, ttl=60)
    with pytest.raises(ValueError, match="as JSON"):
        cache.set("k", ["ns"], {"x": float("nan")}, ttl=60)


def test_bad_arguments_are_clear_errors(cache):
    with pytest.raises(ValueError, match="ttl must be a positive"):
        cache.set("k", ["ns"], "v", ttl=0)
    with pytest.raises(TypeError, match="ttl must be seconds"):
        cache.set("k", ["ns"], "v", ttl="60")
    with pytest.raises(TypeError, match="namespaces are names"):
        cache.get("k", [42])
    with pytest.raises(TypeError, match="a key is a str or bytes"):
        cache.get(42, ["ns"])
    with pytest.raises(ValueError, match="must not be empty"):
        cache.bump_namespace("")


def test_bad_urls_raise_config_error_with_the_cpp_message():
    with pytest.raises(gencache.ConfigError, match="unknown scheme 'foo': accepted schemes are"):
        gencache.Cache.from_url("foo://x")
    with pytest.raises(gencache.ConfigError, match="io_timeout"):
        gencache.Cache.from_url("memcached://127.0.0.1:11211?io_timeout=soon")
    assert issubclass(gencache.ConfigError, gencache.Error)
    assert issubclass(gencache.BackendError, gencache.Error)


def test_from_env_reads_gencache_url(monkeypatch):
    monkeypatch.setenv("GENCACHE_URL", "memory://?prefix=env:")
    assert "memory://" in repr(gencache.Cache.from_env())
    monkeypatch.setenv("GENCACHE_URL", "nope://")
    with pytest.raises(gencache.ConfigError):
        gencache.Cache.from_env()


def test_ns_builds_names_by_the_cpp_rules():
    assert gencache.ns("user", 42) == "user:42"
    assert gencache.ns("org", 7, "plan") == "org:7:plan"
    assert gencache.ns("a", "1:2") == "a:1%3A2"
    assert gencache.ns("a", 1, 2) == "a:1:2"
    assert gencache.ns("p", "100%") == "p:100%25"
    assert gencache.ns("user", -5) == "user:-5"
    with pytest.raises(TypeError, match="str or int"):
        gencache.ns("flag", True)


@pytest.mark.parametrize("scheme", ["memcached", "redis"])
def test_a_backend_failure_fails_open_and_a_failed_bump_raises(scheme):
    cache = gencache.Cache.from_url(unreachable_url(scheme))
    calls = []
    assert cache.cached("k", ["ns"], 60, lambda: calls.append(1) or "computed") == "computed"
    assert calls == [1]
    assert cache.get("k", ["ns"], default="miss") == "miss"
    cache.set("k", ["ns"], "value", ttl=60)  # does nothing, raises nothing
    with pytest.raises(gencache.BackendError) as raised:
        cache.bump_namespace("ns")
    assert raised.value.code in ("backend_unavailable", "timeout", "circuit_open")
    with pytest.raises(gencache.BackendError, match="2 of 2 namespaces not bumped") as both:
        cache.bump_namespaces(["a", "b"])
    assert both.value.code in ("backend_unavailable", "timeout", "circuit_open")
    assert both.value.not_bumped == ["a", "b"] and both.value.generations == [0, 0]
    assert cache.stats()["errors"] >= 3


@pytest.mark.parametrize("scheme", ["memcached", "redis"])
def test_the_error_hook_hears_every_absorbed_failure(scheme):
    events = []
    cache = gencache.Cache.from_url(unreachable_url(scheme),
                                    on_error=lambda *event: events.append(event))
    assert cache.cached("k", ["ns"], 60, lambda: "computed") == "computed"
    assert events and events[0][0] == "read"
    assert events[0][1] in ("backend_unavailable", "timeout")
    assert "127.0.0.1" in events[0][2]


def test_an_error_hook_that_raises_does_not_break_the_caller(monkeypatch):
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)

    def hook(operation, code, message):
        raise RuntimeError("a broken hook")

    cache = gencache.Cache.from_url(unreachable_url("redis"), on_error=hook)
    assert cache.cached("k", ["ns"], 60, lambda: "computed") == "computed"
    assert cache.get("k", ["ns"], default="miss") == "miss"
    assert unraisable and isinstance(unraisable[0].exc_value, RuntimeError)


def test_bump_namespaces_bumps_each_namespace(cache):
    cache.set("k", ["user:1"], "one", ttl=60)
    cache.set("k", ["org:7"], "org", ttl=60)
    before = [cache.generation("user:1"), cache.generation("org:7")]
    after = cache.bump_namespaces([gencache.ns("user", 1), gencache.ns("org", 7)])
    assert len(after) == 2 and after[0] != before[0] and after[1] != before[1]
    assert cache.get("k", ["user:1"]) is None and cache.get("k", ["org:7"]) is None


def test_bump_namespaces_is_one_round_trip_where_the_backend_batches(cache_url):
    cache = gencache.Cache.from_url(cache_url)
    names = ["user:1", "org:7", "catalog"]
    for name in names:
        cache.generation(name)  # warm counters
    before = cache.stats()["round_trips"]
    cache.bump_namespaces(names)
    expected = 3 if cache_url.startswith("memcached") else 1  # libmemcached: one per key
    assert cache.stats()["round_trips"] - before == expected


def wait_for_followers(cache, count, timeout=10):
    """Returns once `count` callers wait on this compute (single-flight), so a test does
    not depend on how fast threads start on a loaded machine."""
    deadline = time.monotonic() + timeout
    while cache.stats()["coalesced"] < count:
        assert time.monotonic() < deadline, "the other threads never joined the flight"
        time.sleep(0.005)


def test_single_flight_runs_compute_once_across_python_threads(cache):
    calls = []
    start = threading.Barrier(8)
    results = []

    def compute():
        calls.append(1)
        wait_for_followers(cache, 7)
        return {"rendered": True}

    def reader():
        start.wait()
        results.append(cache.cached("hot", ["ns"], 60, compute))

    threads = [threading.Thread(target=reader) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [{"rendered": True}] * 8
    assert len(calls) == 1
    assert cache.stats()["coalesced"] == 7


def test_single_flight_followers_get_the_compute_exception(cache):
    start = threading.Barrier(4)
    raised = []

    def compute():
        wait_for_followers(cache, 3)
        raise LookupError("not found")

    def reader():
        start.wait()
        try:
            cache.cached("failing", ["ns"], 60, compute)
        except LookupError as error:
            raised.append(str(error))

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert raised == ["not found"] * 4


def test_the_gil_is_released_while_waiting_for_the_backend():
    server = servers.memcached()
    try:
        cache = gencache.Cache.from_url(
            f"memcached://127.0.0.1:{server.port}?io_timeout=400ms&pool_wait=400ms")
        cache.set("k", ["ns"], "v", ttl=60)
        server.pause()  # every call now waits out io_timeout
        ticks, stop = [], threading.Event()
        ticker = threading.Thread(
            target=lambda: [ticks.append(time.monotonic()) for _ in iter(stop.is_set, True)])
        ticker.start()
        time.sleep(0.05)
        started = time.monotonic()
        assert cache.get("k", ["ns"], default="miss") == "miss"  # failed open
        finished = time.monotonic()
        stop.set()
        ticker.join()
        assert finished - started >= 0.3
        # Had the blocked call held the GIL, the ticker could only have run in the last
        # switch interval (5 ms), after the call returned; it ran all along.
        middle = [t for t in ticks if started + 0.1 < t < finished - 0.1]
        assert len(middle) > 100
    finally:
        server.stop()


def test_stats_is_a_dict_of_every_counter(cache):
    cache.cached("k", ["ns"], 60, lambda: "v")
    stats = cache.stats()
    assert stats["computes"] == 1 and stats["misses"] == 1 and stats["sets"] == 1
    assert {"hits", "bumps", "errors", "round_trips", "coalesced", "outbox_pending"} <= set(stats)


def test_generations_are_read_before_compute_and_the_value_stored_under_them(cache):
    user = gencache.ns("user", 5)

    def compute_while_a_write_commits():
        cache.bump_namespace(user)  # the write this value did not see
        return "computed before the write"

    assert cache.cached("page", [user], 60, compute_while_a_write_commits) == (
        "computed before the write")
    assert cache.cached("page", [user], 60, lambda: "after the write") == "after the write"


def flush_server(url):
    """Empties the server behind `url`, as a restart without persistence would."""
    import socket
    import urllib.parse

    parsed = urllib.parse.urlsplit(url)
    command = b"flush_all\r\n" if parsed.scheme == "memcached" else b"FLUSHALL\r\n"
    with socket.create_connection((parsed.hostname, parsed.port), timeout=5) as connection:
        connection.sendall(command)
        assert connection.recv(64).strip() in (b"OK", b"+OK")


def test_a_lost_counter_comes_back_at_a_fresh_random_value(shared_url):
    cache = gencache.Cache.from_url(shared_url)
    user = gencache.ns("user", 6)
    cache.set("page", [user], "before the loss", ttl=60)
    before = cache.generation(user)
    flush_server(shared_url)
    cache.set("page", [user], "after", ttl=60)  # re-creates the counter
    after = cache.generation(user)
    assert after != before and 2**32 <= after < 2**62 and 2**32 <= before < 2**62
