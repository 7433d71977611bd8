"""Django and C++ services sharing one cache: Django bumps and the C++ dashboard_server
(examples/dashboard_server) serves fresh data; the C++ gencache command bumps and Django
recomputes. On memcached and redis."""

import json
import os
import re
import subprocess
import urllib.request

import pytest
from django.db import transaction
from django.test import Client, override_settings

import gencache
import servers
from djangoapp.models import Item
from djangoapp.views import calls
from gencache.django import bump_on_commit


@pytest.fixture
def dashboard_server(shared_url):
    """The C++ dashboard_server on a free port, caching in `shared_url`; its base URL."""
    binary = servers.program("GENCACHE_DASHBOARD_SERVER", "dashboard_server")
    process = subprocess.Popen([binary, "--port", "0", "--render-ms", "0"],
                               env={**os.environ, "GENCACHE_URL": shared_url},
                               stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        listening = re.search(r"listening on (http://[0-9.]+:[0-9]+)", line)
        assert listening, f"dashboard_server did not start: {line!r}"
        yield listening.group(1)
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def http(method, url, body=None):
    data = None if body is None else json.dumps(body).encode()
    with urllib.request.urlopen(urllib.request.Request(url, data=data, method=method),
                                timeout=10) as response:
        return response.read().decode()


def test_a_django_bump_makes_the_cpp_server_serve_fresh_data(dashboard_server, shared_url):
    page = "/api/users/7/dashboard?page=1"
    dependencies = [gencache.ns("user", 7), gencache.ns("catalog")]
    cache = gencache.Cache.from_url(shared_url)

    rendered = http("GET", dashboard_server + page)
    assert json.loads(rendered)["user"] == 7
    # The entry the C++ server cached: JSON text, which Python reads as the dict it encodes.
    assert cache.get(page, dependencies) == json.loads(rendered)

    # An entry computed before a write the C++ server cannot see: it serves it...
    cache.set(page, dependencies, "a page from before the write", ttl=600)
    assert http("GET", dashboard_server + page) == "a page from before the write"
    # ...until Django commits the write and bumps.
    with override_settings(GENCACHE_URL=shared_url):
        with transaction.atomic():
            bump_on_commit(gencache.ns("user", 7))
    assert http("GET", dashboard_server + page) == rendered


def test_a_bump_by_the_cpp_server_is_seen_by_python(dashboard_server, shared_url):
    page = "/api/users/8/dashboard?page=1"
    dependencies = [gencache.ns("user", 8), gencache.ns("catalog")]
    cache = gencache.Cache.from_url(shared_url)
    before = json.loads(http("GET", dashboard_server + page))
    http("POST", dashboard_server + "/api/users/8/items", {"name": "lamp", "price_cents": 1999})
    assert cache.get(page, dependencies, default="miss") == "miss"
    after = json.loads(http("GET", dashboard_server + page))
    assert after["total_items"] == before["total_items"] + 1
    assert cache.get(page, dependencies) == after


def test_a_bump_by_the_cpp_cli_is_seen_by_django(shared_url):
    cli = servers.program("GENCACHE_CLI", "gencache command")
    Item.objects.all().delete()
    Item.objects.create(user_id=9, name="first")
    with override_settings(GENCACHE_URL=shared_url):
        calls.clear()
        client = Client(raise_request_exception=True)
        for _ in range(2):
            assert client.get("/api/users/9/dashboard?page=1").json()["items"] == ["first"]
        assert calls[("dashboard", 9, 1)] == 1
        subprocess.run([cli, "--url", shared_url, "bump", "user:9"], check=True, timeout=30,
                       capture_output=True)
        client.get("/api/users/9/dashboard?page=1")
        assert calls[("dashboard", 9, 1)] == 2
