"""Python values and C++ types read each other's entries (docs/PROTOCOL.md, "Python
values"), through the real C++ Cache in python_peer (cpp_peer.cpp), on memcached and redis."""

import json
import subprocess

import pytest

import gencache
import servers

MISS = 3
NAMESPACE = "user:42"


def peer(url, *args):
    """Runs python_peer; returns (exit status, what it printed)."""
    done = subprocess.run([servers.program("GENCACHE_PYTHON_PEER", "python_peer"), url, *args],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode in (0, MISS), done.stderr
    return done.returncode, done.stdout


@pytest.fixture
def cache(shared_url):
    return gencache.Cache.from_url(shared_url)


# (Python value, C++ type, how python_peer prints or takes it)
BOTH_WAYS = [
    ("café ☕ and text", "string", "café ☕ and text"),
    ("", "string", ""),
    ({"name": "Ada", "age": 36}, "profile", '{"name":"Ada","age":36}'),
    ([1, "two", None, {"x": 1.5}], "string", '[1,"two",null,{"x":1.5}]'),
    (None, "optional", "absent"),
    ("present", "optional", "present"),
    (42, "py-int", "42"),
    (-(2**63), "py-int", "-9223372036854775808"),
    (2.5, "py-float", "2.5"),
    (-0.1, "py-float", "-0.10000000000000001"),
    (True, "py-bool", "true"),
    (False, "py-bool", "false"),
    (b"\x00\xffraw", "py-bytes", "00ff726177"),
]


@pytest.mark.parametrize("value,cpp_type,text", BOTH_WAYS, ids=lambda v: repr(v)[:20])
def test_cpp_reads_what_python_wrote(cache, shared_url, value, cpp_type, text):
    cache.set("entry", [NAMESPACE], value, ttl=60)
    assert peer(shared_url, "read", cpp_type, "entry", NAMESPACE) == (0, text)


@pytest.mark.parametrize("value,cpp_type,text", BOTH_WAYS, ids=lambda v: repr(v)[:20])
def test_python_reads_what_cpp_wrote(cache, shared_url, value, cpp_type, text):
    assert peer(shared_url, "write", cpp_type, "entry", NAMESPACE, text)[0] == 0
    got = cache.get("entry", [NAMESPACE], default=KeyError)
    assert got == value and type(got) is type(value)


def test_cpp_byte_vectors_read_as_bytes_unless_they_are_utf8_text(cache, shared_url):
    peer(shared_url, "write", "bytes", "raw", NAMESPACE, "00ff10")
    assert cache.get("raw", [NAMESPACE]) == b"\x00\xff\x10"
    peer(shared_url, "write", "bytes", "text", NAMESPACE, "6869")  # "hi"
    assert cache.get("text", [NAMESPACE]) == "hi"


def test_json_looking_text_from_python_stays_text(cache, shared_url):
    cache.set("entry", [NAMESPACE], '{"a": 1}', ttl=60)
    assert cache.get("entry", [NAMESPACE]) == '{"a": 1}'
    # A C++ reader of std::string sees the tag; the mapping documents it.
    code, _ = peer(shared_url, "read", "profile", "entry", NAMESPACE)
    assert code == MISS


def test_a_cpp_reader_of_another_type_misses(cache, shared_url):
    cache.set("entry", [NAMESPACE], 42, ttl=60)
    assert peer(shared_url, "read", "py-float", "entry", NAMESPACE)[0] == MISS
    assert peer(shared_url, "read", "profile", "entry", NAMESPACE)[0] == MISS


def test_bumps_are_shared_both_ways(cache, shared_url):
    cache.set("entry", [NAMESPACE], "from python", ttl=60)
    assert peer(shared_url, "read", "string", "entry", NAMESPACE) == (0, "from python")
    cache.bump_namespace(NAMESPACE)
    assert peer(shared_url, "read", "string", "entry", NAMESPACE)[0] == MISS
    peer(shared_url, "write", "profile", "p", NAMESPACE, json.dumps({"name": "Bo", "age": 1}))
    assert cache.get("p", [NAMESPACE]) == {"name": "Bo", "age": 1}
