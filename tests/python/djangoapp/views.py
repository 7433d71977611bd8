import collections
import time

from django.db import transaction
from django.http import HttpResponse, JsonResponse
from rest_framework import viewsets
from rest_framework.decorators import api_view
from rest_framework.response import Response
from rest_framework.views import APIView

import gencache
from gencache.django import cached_api_response, get_cache

from .models import Item

PAGE_SIZE = 2

# How many times each view body ran, by name (and user and page for dashboards).
calls = collections.Counter()


class RenderFailed(Exception):
    pass


def user_namespace(request, user_id, **kwargs):
    return [gencache.ns("user", user_id)]


def dashboard_data(user_id, page):
    items = list(Item.objects.filter(user_id=user_id).values_list("name", flat=True))
    first = (page - 1) * PAGE_SIZE
    return {"user": user_id, "page": page, "total_items": len(items),
            "items": items[first:first + PAGE_SIZE]}


@api_view(["GET", "POST"])
@cached_api_response(namespaces=user_namespace, ttl=600)
def dashboard(request, user_id):
    if request.method == "POST":  # never cached: the decorator only caches GET and HEAD
        with transaction.atomic():
            item = Item.objects.create(user_id=user_id, name=request.data["name"])
        return Response({"id": item.id}, status=201)
    page = int(request.query_params.get("page", "1"))
    calls[("dashboard", user_id, page)] += 1
    return Response(dashboard_data(user_id, page))


class ItemsView(APIView):
    @cached_api_response(namespaces=lambda self, request, user_id: [gencache.ns("user", user_id)])
    def get(self, request, user_id):
        calls["items_view"] += 1
        return Response(dashboard_data(user_id, 1))


class ItemViewSet(viewsets.ViewSet):
    @cached_api_response(namespaces=lambda self, request: [gencache.ns("catalog")])
    def list(self, request):
        calls["item_viewset"] += 1
        return Response({"names": list(Item.objects.values_list("name", flat=True))})


@cached_api_response(namespaces=["plain"])
def plain_text(request):
    calls["plain_text"] += 1
    return HttpResponse("plain text ☕", status=203, content_type="text/plain; charset=utf-8")


@cached_api_response(namespaces=["plain"])
def json_response(request):
    calls["json_response"] += 1
    return JsonResponse({"answer": 42, "query": request.GET.get("q", "")})


@cached_api_response(namespaces=["plain"])
def binary(request):
    calls["binary"] += 1
    return HttpResponse(b"\x89PNG\x00\xff", content_type="image/png")


FALSY_BODIES = {"list": [], "dict": {}, "text": ""}


@api_view(["GET"])
@cached_api_response(namespaces=["plain"])
def falsy(request, kind):
    calls[("falsy", kind)] += 1
    return Response(FALSY_BODIES[kind])


@cached_api_response(namespaces=["plain"])
def empty_http(request):
    calls["empty_http"] += 1
    return HttpResponse("")


@api_view(["GET"])
@cached_api_response(namespaces=["plain"])
def missing(request):
    calls["missing"] += 1
    return Response({"detail": "no such thing"}, status=404)


@api_view(["GET"])
@cached_api_response(namespaces=["plain"])
def failing(request):
    calls["failing"] += 1
    raise RenderFailed("the view failed")


@cached_api_response(namespaces=["plain"])
@api_view(["GET"])
def outside_api_view(request):
    """The decorator above @api_view sees an already finalized DRF Response."""
    calls["outside_api_view"] += 1
    return Response({"finalized": True})


@cached_api_response(key=lambda request: "/one-entry-for-every-query", namespaces=["plain"])
def fixed_key(request):
    calls["fixed_key"] += 1
    return HttpResponse(request.GET.get("q", ""))


@cached_api_response(namespaces=["slow"])
def slow(request):
    """Returns once ?followers=N other requests wait for it in single-flight (the test
    then does not depend on how fast threads start on a loaded machine)."""
    calls["slow"] += 1
    followers = int(request.GET.get("followers", "0"))
    deadline = time.monotonic() + 10
    while get_cache().stats()["coalesced"] < followers and time.monotonic() < deadline:
        time.sleep(0.005)
    status = int(request.GET.get("status", "200"))
    return HttpResponse(f"status {status}", status=status)
