#!/usr/bin/python3
"""What a Django app pays to invalidate one user's cached responses, and for a cached hit:
gencache (the Python module, through gencache.django) against django-redis.

Debian has no django-redis package, so its two operations are written here the way
django-redis 5 does them with redis-py (python3-redis):
- delete_pattern("user_42_*"): SCAN MATCH ":1:user_42_*" COUNT 10 (django-redis's
  default DJANGO_REDIS_SCAN_ITERSIZE) until the cursor returns to 0, each match queued
  in a pipeline as DEL, then the pipeline executed;
- cache.get(key): GET of ":1:<key>", then pickle.loads of the value.

Part 1, invalidation: a Redis keyspace of 10^4, 10^5 and 10^6 keys (100 of them the
user's), one run: pattern deletion of the user's keys against gencache bump_namespace of
user:42 on the same server. Part 2, hits: a Django function view decorated with
gencache.django.cached_api_response, called with a RequestFactory GET whose response is
cached, against the same view under the usual hand-written django-redis decorator (get,
unpickle, build the HttpResponse), and the two bare reads.

Starts its own redis-server (persistence off) on a free loopback port; scripts/bench
runs it on one core, server included. Prints a table and writes JSON with --json.

    benchmarks/django_bench.py [--json OUT] [--sizes 10000,100000,1000000]
GENCACHE_BENCH_SMOKE=1 runs tiny sizes and few repetitions, to check the program runs.
Needs the gencache package importable (PYTHONPATH=build/release/python).
"""

import argparse
import json
import os
import pickle
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "python"))
import servers  # noqa: E402  (tests/python/servers.py: the redis-server fixture)

import redis  # noqa: E402  (python3-redis)

import gencache  # noqa: E402

SMOKE = os.environ.get("GENCACHE_BENCH_SMOKE") == "1"
USER_ENTRIES = 100
SCAN_COUNT = 10  # django-redis's default DJANGO_REDIS_SCAN_ITERSIZE
VALUE = pickle.dumps({"user": 0, "page": 0, "items": ["x" * 8] * 4})
DJANGO_REDIS_PREFIX = ":1:"  # KEY_PREFIX "" and VERSION 1, django's default key function


def django_redis_key(user, page):
    return f"{DJANGO_REDIS_PREFIX}user_{user}_page_{page}"


def delete_pattern(client, pattern):
    """django-redis's delete_pattern: SCAN MATCH, then one pipeline of DELs."""
    pipeline = client.pipeline()
    count = 0
    for key in client.scan_iter(match=DJANGO_REDIS_PREFIX + pattern, count=SCAN_COUNT):
        pipeline.delete(key)
        count += 1
    pipeline.execute()
    return count


def fill(client, size, loaded):
    """Grows the keyspace to `size` keys: user 42's 100 and other users' pages."""
    pipeline = client.pipeline(transaction=False)
    for index in range(loaded, size - USER_ENTRIES):
        pipeline.set(django_redis_key(1_000_000 + index // USER_ENTRIES, index % USER_ENTRIES),
                     VALUE)
        if len(pipeline) >= 10_000:
            pipeline.execute()
    pipeline.execute()
    return size - USER_ENTRIES


def restore_user(client):
    pipeline = client.pipeline(transaction=False)
    for page in range(USER_ENTRIES):
        pipeline.set(django_redis_key(42, page), VALUE)
    pipeline.execute()


def median_seconds(operation, repetitions, before=None):
    times = []
    for _ in range(repetitions):
        if before:
            before()
        started = time.perf_counter()
        operation()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def per_call(operation, calls, repetitions):
    """Median over `repetitions` batches of the time of one of `calls` calls."""
    def batch():
        for _ in range(calls):
            operation()
    return median_seconds(batch, repetitions) / calls


def invalidation(client, cache, sizes):
    rows, loaded = [], 0
    for size in sizes:
        loaded = fill(client, size, loaded)
        restore_user(client)
        assert client.dbsize() >= size
        repetitions = 3 if size >= 1_000_000 else 5
        if SMOKE:
            repetitions = 1
        deleted = delete_pattern(client, "user_42_*")
        assert deleted == USER_ENTRIES, deleted
        scan = median_seconds(lambda: delete_pattern(client, "user_42_*"), repetitions,
                              before=lambda: restore_user(client))
        restore_user(client)
        user = gencache.ns("user", 42)
        bump = per_call(lambda: cache.bump_namespace(user), 10 if SMOKE else 1000,
                        1 if SMOKE else 5)
        rows.append({"keys": size, "delete_pattern_s": scan, "bump_namespace_s": bump,
                     "ratio": scan / bump})
        print(f"  {size:>9,} keys  delete_pattern {scan * 1e3:10.3f} ms   "
              f"bump_namespace {bump * 1e6:8.1f} us   {scan / bump:>10,.0f}x", flush=True)
    return rows


def configure_django(url):
    from django.conf import settings

    settings.configure(DEBUG=False, SECRET_KEY="bench", ALLOWED_HOSTS=["testserver"],
                       GENCACHE_URL=url, INSTALLED_APPS=[], DATABASES={})
    import django

    django.setup()


def hits(client, url):
    from django.http import HttpResponse, JsonResponse
    from django.test import RequestFactory

    from gencache.django import cached_api_response

    body = {"user": 42, "page": 2, "items": ["x" * 8] * 4}

    @cached_api_response(namespaces=lambda request: [gencache.ns("user", 42)], ttl=600)
    def gencache_view(request):
        return JsonResponse(body)

    def django_redis_view(request):
        # The hand-written decorator these apps use, on django-redis's cache.get.
        key = django_redis_key(42, "dashboard?page=2")
        cached = client.get(key)
        if cached is not None:
            content, content_type = pickle.loads(cached)
            return HttpResponse(content, content_type=content_type)
        response = JsonResponse(body)
        client.set(key, pickle.dumps((response.content, response["Content-Type"])))
        return response

    request = RequestFactory().get("/api/users/42/dashboard?page=2")
    first = gencache_view(request).content
    assert gencache_view(request).content == first == django_redis_view(request).content
    assert django_redis_view(request).content == first

    cache = gencache.Cache.from_url(url)
    cache.set("k", [gencache.ns("user", 42)], {"user": 42}, ttl=600)
    client.set(django_redis_key(42, "k"), pickle.dumps({"user": 42}))
    calls, repetitions = (20, 1) if SMOKE else (5000, 5)
    measured = {
        "gencache_view_hit_s": per_call(lambda: gencache_view(request), calls, repetitions),
        "django_redis_view_hit_s": per_call(lambda: django_redis_view(request), calls,
                                            repetitions),
        "gencache_get_hit_s": per_call(lambda: cache.get("k", [gencache.ns("user", 42)]),
                                       calls, repetitions),
        "django_redis_get_hit_s": per_call(
            lambda: pickle.loads(client.get(django_redis_key(42, "k"))), calls, repetitions),
    }
    for name, seconds in measured.items():
        print(f"  {name[:-2]:<26} {seconds * 1e6:8.1f} us", flush=True)
    print(f"  cached view hit: gencache / django-redis = "
          f"{measured['gencache_view_hit_s'] / measured['django_redis_view_hit_s']:.2f}; "
          f"bare read: gencache get / django-redis get = "
          f"{measured['gencache_get_hit_s'] / measured['django_redis_get_hit_s']:.2f}")
    return measured


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="write the figures here")
    parser.add_argument("--sizes", default="1000,2000" if SMOKE else "10000,100000,1000000")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]

    server = servers.redis()
    try:
        client = redis.Redis(host="127.0.0.1", port=server.port)
        url = f"redis://127.0.0.1:{server.port}?prefix=bench:&io_timeout=2s"
        cache = gencache.Cache.from_url(url)
        configure_django(url)
        print("invalidating user 42's 100 entries (Redis, one core)")
        invalidation_rows = invalidation(client, cache, sizes)
        print("cached hits (Redis, keyspace as above)")
        hit_figures = hits(client, url)
    finally:
        server.stop()
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"invalidation": invalidation_rows, "hits": hit_figures,
                       "scan_count": SCAN_COUNT, "user_entries": USER_ENTRIES}, out, indent=2)


if __name__ == "__main__":
    main()
