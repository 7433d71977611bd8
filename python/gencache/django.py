"""gencache for Django and Django REST Framework: cached API responses, invalidated in
O(1) by bumping namespaces after a commit.

    from gencache.django import cached_api_response, bump_on_commit, invalidate_on

    @api_view(["GET"])
    @cached_api_response(namespaces=lambda request: [gencache.ns("user", request.user.id)])
    def dashboard(request): ...

    invalidate_on(Order, namespaces=lambda order: [gencache.ns("user", order.user_id)])

The cache is ``settings.GENCACHE_URL`` (one Cache per URL, shared by the process) unless a
``cache=`` is passed.
"""

import base64
import functools
import json
import logging
import os
import threading
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest, HttpResponse

from .cache import Cache, _names, _ttl_ms

try:  # DRF is optional: without it, only Django responses are cached.
    from rest_framework.request import Request as _DrfRequest
    from rest_framework.response import Response as _DrfResponse
    from rest_framework.utils.encoders import JSONEncoder as _DrfJSONEncoder
except ImportError:  # pragma: no cover - DRF is installed wherever the tests run
    _DrfRequest = _DrfResponse = _DrfJSONEncoder = None

logger = logging.getLogger("gencache.django")

_caches = {}
_caches_lock = threading.Lock()

# Bumped when the stored form of a response changes, so old entries are misses.
_FORMAT = 1
_CACHED_METHODS = ("GET", "HEAD")


def _log_backend_failure(operation, code, message):
    """The error hook of get_cache()'s caches: the request was served anyway (fail-open)."""
    logger.warning("gencache %s failed (%s): %s", operation, code, message)


def get_cache():
    """The Cache for ``settings.GENCACHE_URL``, created on first use in each process and
    then shared by its threads. Backend failures it absorbs are logged as warnings on the
    ``gencache.django`` logger.
    Raises ImproperlyConfigured when the setting is missing, gencache.ConfigError when
    the URL is invalid."""
    url = getattr(settings, "GENCACHE_URL", None)
    if not url:
        raise ImproperlyConfigured(
            "gencache.django needs settings.GENCACHE_URL, e.g. 'memcached://127.0.0.1:11211' "
            "or 'redis://127.0.0.1:6379' (or pass cache=gencache.Cache.from_url(...))")
    # Per process: a server that forks its workers after importing the app (gunicorn
    # --preload) must not share one Cache's connections between them.
    key = (url, os.getpid())
    cache = _caches.get(key)
    if cache is None:
        with _caches_lock:
            cache = _caches.get(key)
            if cache is None:
                cache = _caches[key] = Cache.from_url(url, on_error=_log_backend_failure)
    return cache


def default_key(request):
    """The request's path with its query parameters sorted (by name, then value), so
    ``?b=2&a=1`` and ``?a=1&b=2`` are one entry."""
    params = sorted((name, value) for name, values in request.GET.lists() for value in values)
    return request.path + "?" + urlencode(params)


def _request_of(args):
    """The request among a view's arguments: first for a function view, second (after
    self) for an APIView or ViewSet method."""
    request_types = (HttpRequest,) if _DrfRequest is None else (HttpRequest, _DrfRequest)
    for candidate in args[:2]:
        if isinstance(candidate, request_types):
            return candidate
    return None


class _NotCacheable(Exception):
    """Raised out of the compute function for a response that must not be cached, so
    that gencache stores nothing (the wrapper serves the response it kept aside)."""


def _freeze(response):
    """The stored form of a successful response (a dict of JSON values), or None when it
    must not be cached: not 2xx, streamed, or not a response gencache knows."""
    status = getattr(response, "status_code", None)
    if not isinstance(status, int) or not 200 <= status < 300:
        return None
    if getattr(response, "streaming", False):
        return None
    if _DrfResponse is not None and isinstance(response, _DrfResponse):
        if getattr(response, "accepted_renderer", None) is None:
            # Not rendered yet (the decorator is under @api_view or on an APIView method):
            # keep the data, rendered on each hit by content negotiation as usual.
            data = json.loads(json.dumps(response.data, cls=_DrfJSONEncoder))
            return {"format": _FORMAT, "type": "drf", "status": status, "data": data}
        response.render()  # finalized by DRF already: keep what it renders to
    elif not isinstance(response, HttpResponse):
        if hasattr(response, "render") and not getattr(response, "is_rendered", True):
            response.render()
        if not isinstance(response, HttpResponse):
            return None
    content = bytes(response.content)
    try:
        body, encoding = content.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        body, encoding = base64.b64encode(content).decode("ascii"), "base64"
    return {"format": _FORMAT, "type": "http", "status": status,
            "content_type": response.get("Content-Type", ""), "body": body,
            "body_encoding": encoding}


def _thaw(stored):
    """The response a stored form describes, or None when it is not one (another format,
    or an entry someone else wrote under the same key): the view then runs instead."""
    if not isinstance(stored, dict) or stored.get("format") != _FORMAT:
        return None
    try:
        if stored["type"] == "drf" and _DrfResponse is not None:
            return _DrfResponse(stored["data"], status=stored["status"])
        if stored["type"] == "http":
            body = stored["body"]
            content = base64.b64decode(body) if stored["body_encoding"] == "base64" else body
            return HttpResponse(content, status=stored["status"],
                                content_type=stored["content_type"] or None)
    except (KeyError, TypeError, ValueError):  # binascii.Error is a ValueError
        pass
    return None


def _resolve(spec, args, kwargs):
    return spec(*args, **kwargs) if callable(spec) else spec


def cached_api_response(key=None, *, namespaces, ttl=3600, cache=None):
    """Caches a view's successful (2xx) GET and HEAD responses under `namespaces`.

    - `key`: a str, or a callable taking the view's arguments; default: the request's path
      with its query parameters sorted (``default_key``). Nothing else of the request is
      in the entry: a response that varies with a header needs it in `key`.
    - `namespaces` (required): names (``gencache.ns("user", 42)``), or a callable taking
      the view's arguments and returning them, e.g.
      ``lambda request: [ns("user", request.user.id)]`` (for a method,
      ``lambda self, request, **kwargs: ...``); ``[]`` for entries only the TTL ends. The
      namespaces are part of the entry's identity: one key under ``user:1`` and
      ``user:2`` is two entries.
    - `ttl`: seconds or a timedelta (default an hour); `cache`: a gencache.Cache, default
      ``get_cache()`` (``settings.GENCACHE_URL``).

    DRF ``Response`` data is stored as JSON and rendered on each hit by the usual content
    negotiation; Django ``HttpResponse`` and ``JsonResponse`` keep their content, status
    code and content type (other headers are not stored). Empty bodies (``[]``, ``{}``,
    ``""``) are cached like any other. Other methods, error statuses and streamed
    responses are never cached. The view runs at most once per request, also when the
    cache fails (then it runs and its response is returned, fail-open); its exceptions
    propagate unchanged. Works on function views and on APIView / ViewSet methods.
    """
    _ttl_ms(ttl)  # a bad TTL is an error at import time, not on the first request
    if not callable(namespaces):
        namespaces = _names(namespaces)

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            request = _request_of(args)
            if request is None or request.method not in _CACHED_METHODS:
                return view(*args, **kwargs)
            entry_key = default_key(request) if key is None else _resolve(key, args, kwargs)
            names = _names(_resolve(namespaces, args, kwargs))
            ran = {}

            def compute():
                response = view(*args, **kwargs)
                ran["response"] = response
                try:
                    stored = _freeze(response)
                except Exception:  # the response is served; only caching it failed
                    logger.exception("gencache.django: could not store the response of %s",
                                     entry_key)
                    stored = None
                if stored is None:
                    raise _NotCacheable()
                return stored

            try:
                stored = (cache or get_cache()).cached(entry_key, names, ttl, compute)
            except _NotCacheable:
                if "response" in ran:
                    return ran["response"]
                # Another request's view ran for this entry (single-flight) and its response
                # is not cacheable: this request gets its own.
                return view(*args, **kwargs)
            if "response" in ran:
                return ran["response"]
            response = _thaw(stored)
            return response if response is not None else view(*args, **kwargs)

        return wrapper

    return decorator


def bump_on_commit(*namespaces, cache=None, using=None):
    """Bumps `namespaces` once the current transaction on database `using` commits (at
    once outside a transaction), through ``transaction.on_commit``; nothing is bumped if
    it rolls back. Bumping after the commit is what keeps a concurrent read from caching
    the old data under the new generation. All of them are bumped together
    (``Cache.bump_namespaces``); a failure raises gencache.BackendError from the commit,
    naming the namespaces not bumped: invalidation is never silent."""
    names = []
    for namespace in namespaces:
        names.extend(_names(namespace))

    def bump():
        (cache or get_cache()).bump_namespaces(names)

    transaction.on_commit(bump, using=using)


def invalidate_on(model, namespaces, cache=None):
    """Bumps ``namespaces(instance)`` after every commit that saves or deletes a `model`
    instance (``post_save`` and ``post_delete``, then ``bump_on_commit``). Returns the
    signal receiver. An update that moves an instance to another namespace must bump the
    old one too: the receiver sees only the saved instance."""

    def receiver(sender, instance, using=None, **kwargs):
        bump_on_commit(*_names(namespaces(instance)), cache=cache, using=using)

    uid = f"gencache.invalidate_on:{model._meta.label}:{id(namespaces)}"
    post_save.connect(receiver, sender=model, weak=False, dispatch_uid=uid + ":save")
    post_delete.connect(receiver, sender=model, weak=False, dispatch_uid=uid + ":delete")
    return receiver
