"""Fixtures: servers on free loopback ports, cache URLs for each backend, and Django
configured for the test project in djangoapp/ (in-memory sqlite)."""

import os
import secrets
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import servers  # noqa: E402


def pytest_configure(config):
    import warnings

    # Django 3.2 on Python 3.11 warns about cgi and locale at import; not ours to fix.
    warnings.filterwarnings("ignore", category=DeprecationWarning, module="django")
    try:
        import importlib

        import django

        importlib.import_module("rest_framework")
    except ImportError as error:
        raise RuntimeError(f"the Python tests need Django and DRF ({error}): apt-get install "
                           "python3-django python3-djangorestframework") from error
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="gencache-tests",
            ALLOWED_HOSTS=["testserver"],
            DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
            INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth",
                            "rest_framework", "djangoapp"],
            ROOT_URLCONF="djangoapp.urls",
            MIDDLEWARE=[],
            USE_TZ=True,
            GENCACHE_URL="memory://",
            REST_FRAMEWORK={"DEFAULT_AUTHENTICATION_CLASSES": [],
                            "DEFAULT_PERMISSION_CLASSES": [], "UNAUTHENTICATED_USER": None,
                            "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]},
        )
    django.setup()
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    setup_test_environment()
    call_command("migrate", run_syncdb=True, verbosity=0)


@pytest.fixture(scope="session")
def memcached_server():
    server = servers.memcached()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server():
    server = servers.redis()
    yield server
    server.stop()


def unique_prefix():
    """A per-test key prefix, so tests sharing a server never see each other's entries."""
    return f"t{secrets.token_hex(4)}:"


@pytest.fixture(params=["memory", "memcached", "redis"])
def cache_url(request):
    """A cache URL on each backend (servers started once per session)."""
    prefix = unique_prefix()
    if request.param == "memory":
        return f"memory://?prefix={prefix}"
    if request.param == "memcached":
        port = request.getfixturevalue("memcached_server").port
        return f"memcached://127.0.0.1:{port}?prefix={prefix}"
    port = request.getfixturevalue("redis_server").port
    return f"redis://127.0.0.1:{port}?prefix={prefix}"


@pytest.fixture(params=["memcached", "redis"])
def shared_url(request):
    """A cache URL on each server backend, which a C++ process can share."""
    prefix = unique_prefix()
    scheme = request.param
    port = request.getfixturevalue(f"{scheme}_server").port
    return f"{scheme}://127.0.0.1:{port}?prefix={prefix}"
