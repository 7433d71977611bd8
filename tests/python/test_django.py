"""gencache.django in a real Django + DRF app (djangoapp/), with Django's test client, on
memory://, memcached and redis."""

import threading

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.test import Client, override_settings

import gencache
import servers
from djangoapp.models import Item
from djangoapp.views import RenderFailed, calls
from gencache.django import bump_on_commit, get_cache


@pytest.fixture
def client(cache_url):
    """A test client on a Django app whose GENCACHE_URL is `cache_url`, with no items."""
    Item.objects.all().delete()
    with override_settings(GENCACHE_URL=cache_url):
        calls.clear()
        yield Client(raise_request_exception=True)


def seed(users, items_per_user):
    for user in users:
        for n in range(items_per_user):
            Item.objects.create(user_id=user, name=f"item-{user}-{n}")


def test_a_function_view_runs_once_then_is_served_from_the_cache(client):
    seed([1], 3)
    first = client.get("/api/users/1/dashboard?page=1")
    second = client.get("/api/users/1/dashboard?page=1")
    assert first.status_code == second.status_code == 200
    assert second.json() == first.json() == {
        "user": 1, "page": 1, "total_items": 3, "items": ["item-1-2", "item-1-1"]}
    assert second["Content-Type"] == "application/json"
    assert calls[("dashboard", 1, 1)] == 1


def test_the_default_key_is_the_path_with_sorted_query_parameters(client):
    assert client.get("/json?q=x&b=2").json() == client.get("/json?b=2&q=x").json()
    assert calls["json_response"] == 1
    assert client.get("/json?q=y&b=2").json()["query"] == "y"
    assert calls["json_response"] == 2


def test_a_key_function_replaces_the_default_key(client):
    assert client.get("/fixed?q=first").content == b"first"
    assert client.get("/fixed?q=second").content == b"first"
    assert calls["fixed_key"] == 1


def test_head_requests_share_the_get_entry(client):
    assert client.head("/plain").status_code == 203
    assert client.get("/plain").content.decode() == "plain text ☕"
    assert calls["plain_text"] == 1


def test_dashboard_scenario_a_write_recomputes_only_that_users_pages(client):
    users, pages = [1, 2, 3, 4], [1, 2, 3]
    seed(users, 6)

    def read_all():
        return {(u, p): client.get(f"/api/users/{u}/dashboard?page={p}").json()
                for u in users for p in pages}

    before = read_all()
    assert sum(calls.values()) == 12
    assert read_all() == before
    assert sum(calls.values()) == 12  # every page a hit

    created = client.post("/api/users/2/dashboard", {"name": "new-for-2"},
                          content_type="application/json")
    assert created.status_code == 201
    after = read_all()
    recomputed = {key for key, count in calls.items() if count == 2}
    assert recomputed == {("dashboard", 2, p) for p in pages}
    assert after[(2, 1)]["items"][0] == "new-for-2" and after[(2, 1)]["total_items"] == 7
    assert all(after[(u, p)] == before[(u, p)] for u in (1, 3, 4) for p in pages)


def test_apiview_and_viewset_methods_are_cached(client):
    seed([5], 1)
    for _ in range(2):
        assert client.get("/api/users/5/items").json()["items"] == ["item-5-0"]
        assert client.get("/items/").json() == {"names": ["item-5-0"]}
    assert calls["items_view"] == 1 and calls["item_viewset"] == 1
    get_cache().bump_namespace(gencache.ns("catalog"))
    client.get("/items/")
    assert calls["item_viewset"] == 2 and calls["items_view"] == 1


def test_http_responses_keep_content_status_and_content_type(client):
    for _ in range(2):
        text = client.get("/plain")
        assert (text.status_code, text["Content-Type"]) == (203, "text/plain; charset=utf-8")
        assert text.content.decode() == "plain text ☕"
        json = client.get("/json?q=z")
        assert json["Content-Type"] == "application/json" and json.json()["answer"] == 42
        png = client.get("/binary")
        assert (png["Content-Type"], png.content) == ("image/png", b"\x89PNG\x00\xff")
    assert calls["plain_text"] == calls["json_response"] == calls["binary"] == 1


def test_falsy_bodies_are_cached(client):
    for _ in range(2):
        assert client.get("/falsy/list").json() == []
        assert client.get("/falsy/dict").json() == {}
        assert client.get("/falsy/text").json() == ""
        assert client.get("/empty").content == b""
    assert calls[("falsy", "list")] == calls[("falsy", "dict")] == calls[("falsy", "text")] == 1
    assert calls["empty_http"] == 1


def concurrent_gets(path, count):
    """`count` threads GET `path` at once, each with its own test client."""
    start = threading.Barrier(count)
    responses = []

    def get():
        client = Client(raise_request_exception=True)
        start.wait()
        responses.append(client.get(path))

    threads = [threading.Thread(target=get) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return responses


def test_concurrent_requests_for_one_entry_run_the_view_once(client):
    responses = concurrent_gets("/slow?followers=3", 4)
    assert [r.content for r in responses] == [b"status 200"] * 4
    assert calls["slow"] == 1


def test_concurrent_requests_whose_response_is_not_cacheable_each_get_their_own(client):
    responses = concurrent_gets("/slow?status=503&followers=3", 4)
    assert [r.status_code for r in responses] == [503] * 4
    assert calls["slow"] == 4  # one run per request, none cached
    assert get_cache().stats()["coalesced"] >= 1  # some waited for the first, then ran


def test_error_responses_are_not_cached(client):
    for _ in range(2):
        assert client.get("/missing").status_code == 404
    assert calls["missing"] == 2


def test_view_exceptions_propagate_and_nothing_is_cached(client):
    for _ in range(2):
        with pytest.raises(RenderFailed, match="the view failed"):
            client.get("/failing")
    assert calls["failing"] == 2


def test_other_methods_run_the_view_and_are_not_cached(client):
    for name in ("a", "b"):
        response = client.post("/api/users/9/dashboard", {"name": name},
                               content_type="application/json")
        assert response.status_code == 201
    assert Item.objects.filter(user_id=9).count() == 2


def test_a_finalized_drf_response_is_cached_as_its_rendered_content(client):
    for _ in range(2):
        response = client.get("/outside")
        assert response.json() == {"finalized": True}
        assert response["Content-Type"] == "application/json"
    assert calls["outside_api_view"] == 1


@pytest.mark.parametrize("scheme", ["memcached", "redis"])
def test_the_view_runs_once_per_request_when_the_cache_fails(scheme, caplog):
    port = servers.refusing_port()
    Item.objects.all().delete()
    seed([3], 2)
    with override_settings(GENCACHE_URL=f"{scheme}://127.0.0.1:{port}?connect_timeout=50ms"):
        calls.clear()
        client = Client(raise_request_exception=True)
        for request in range(1, 4):
            response = client.get("/api/users/3/dashboard?page=1")
            assert response.status_code == 200 and response.json()["total_items"] == 2
            assert calls[("dashboard", 3, 1)] == request
        assert get_cache().stats()["errors"] >= 3
    assert "gencache read failed" in caplog.text


def test_bump_on_commit_bumps_after_the_commit_and_not_on_rollback(client):
    cache = get_cache()
    user = gencache.ns("user", 77)
    start = cache.generation(user)
    with transaction.atomic():
        bump_on_commit(user)
        assert cache.generation(user) == start  # not before the commit
    committed = cache.generation(user)
    assert committed != start
    with pytest.raises(ZeroDivisionError):
        with transaction.atomic():
            bump_on_commit(user, [gencache.ns("org", 1)])
            1 / 0
    assert cache.generation(user) == committed


def test_invalidate_on_bumps_on_save_and_on_delete(client):
    cache = get_cache()
    user = gencache.ns("user", 8)
    generations = [cache.generation(user)]
    item = Item.objects.create(user_id=8, name="x")
    generations.append(cache.generation(user))
    item.delete()
    generations.append(cache.generation(user))
    assert len(set(generations)) == 3


def test_a_forked_worker_gets_its_own_cache(client):
    import os

    parent = get_cache()
    pid = os.fork()
    if pid == 0:  # the child: a new Cache, which works
        child = get_cache()
        ok = child is not parent and child.cached("k", ["ns"], 60, lambda: "child") == "child"
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert get_cache() is parent


def test_a_missing_gencache_url_is_improperly_configured():
    with override_settings(GENCACHE_URL=None):
        with pytest.raises(ImproperlyConfigured, match="settings.GENCACHE_URL"):
            get_cache()


def test_an_entry_that_is_not_a_stored_response_runs_the_view(client):
    get_cache().set("/plain?", ["plain"], {"format": 1, "type": "http"}, ttl=60)
    assert client.get("/plain").content.decode() == "plain text ☕"
    assert calls["plain_text"] == 1


def test_the_decorator_needs_namespaces():
    from gencache.django import cached_api_response

    with pytest.raises(TypeError, match="namespaces"):
        cached_api_response(lambda request: None)


def test_a_bad_ttl_fails_when_decorating():
    from gencache.django import cached_api_response

    with pytest.raises(ValueError, match="ttl must be a positive"):
        cached_api_response(namespaces=["x"], ttl=-1)
