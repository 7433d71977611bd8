#!/usr/bin/env python3
"""gencache's wire format in Python, written from docs/PROTOCOL.md alone.

A service in another language shares a gencache cache by following that document; this
module is the proof that it is enough. interop_test.cpp drives it against a real memcached
next to the C++ library:

    gencache_protocol.py [--server HOST:PORT | --cluster HOST:PORT,...] [--prefix P] COMMAND ...
      counter-key NS                         the counter key of NS (no server needed)
      key KEY --ns NS=GEN...                 the versioned key (no server needed)
      generation NS                          read NS's counter, creating it if absent
      bump NS                                bump NS (PROTOCOL.md, "Bumping a namespace")
      read KEY --ns NS...                    read an entry at the current generations
      write KEY --ns NS... (--value V | --absent) [--ttl-ms N]
      corrupt KEY --ns NS...                 overwrite the entry with a bad checksum

With --cluster the keys carry the namespace hash tag of PROTOCOL.md ("Redis Cluster")
and the commands talk to that Redis Cluster (its seed nodes) instead of memcached;
`counter-key` and `key` take --cluster with any address. Keys, namespaces and values are
taken as the bytes given on the command line. Results are printed as one JSON object;
`read` exits 3 on a miss. Needs pymemcache (Debian: python3-pymemcache) for memcached, and
redis-py (python3-redis) for a cluster.
"""

import argparse
import binascii
import hashlib
import json
import math
import os
import secrets
import struct
import sys
import time
import zlib

# ---- keys (PROTOCOL.md, "Keys") ------------------------------------------------------

MAX_KEY = 250
VERSION_TAG = b"gc1:"
SEPARATORS = b"%@,|#"


def escape(text: bytes) -> bytes:
    """Bytes 0x21..0x7E except % @ , | # stay; every other byte becomes %XX (uppercase)."""
    out = bytearray()
    for byte in text:
        if 0x21 <= byte <= 0x7E and byte not in SEPARATORS:
            out.append(byte)
        else:
            out += b"%%%02X" % byte
    return bytes(out)


def fit_length(full: bytes, prefix: bytes) -> bytes:
    """A key over 250 bytes becomes <prefix>gc1:h:<head>#<sha256 hex of the full key>."""
    if len(full) <= MAX_KEY:
        return full
    digest = hashlib.sha256(full).hexdigest().encode()
    fixed = len(prefix) + len(VERSION_TAG) + 2 + 1 + len(digest)
    body = full[len(prefix) + len(VERSION_TAG) + 2:]  # after "<prefix>gc1:k:" or "...n:"
    return prefix + VERSION_TAG + b"h:" + body[: MAX_KEY - fixed] + b"#" + digest


def hash_tagged(prefix: bytes, namespace: bytes) -> bytes:
    """On Redis Cluster: {T} before the prefix, T the CRC-16/XMODEM of the name in hex."""
    return b"{%04x}" % binascii.crc_hqx(namespace, 0) + prefix


def counter_key(prefix: bytes, namespace: bytes, cluster: bool = False) -> bytes:
    if cluster:
        prefix = hash_tagged(prefix, namespace)
    return fit_length(prefix + VERSION_TAG + b"n:" + escape(namespace), prefix)


def canonical_namespaces(namespaces):
    """Sorted by their bytes (unsigned), duplicates removed."""
    return sorted(set(namespaces))


def versioned_key(prefix: bytes, generations, key: bytes, cluster: bool = False) -> bytes:
    """`generations`: (namespace, generation) pairs in canonical namespace order."""
    if cluster and generations:
        prefix = hash_tagged(prefix, generations[0][0])  # placed by the first namespace
    parts = b",".join(escape(ns) + b"@" + str(gen).encode() for ns, gen in generations)
    return fit_length(prefix + VERSION_TAG + b"k:" + parts + b"|" + escape(key), prefix)


# ---- counters (PROTOCOL.md, "Generation counters") ------------------------------------

MIN_FRESH = 1 << 32
MAX_FRESH = 1 << 62


def fresh_generation() -> int:
    """Uniform in [2^32, 2^62) from a CSPRNG."""
    return MIN_FRESH + secrets.randbelow(MAX_FRESH - MIN_FRESH)


def parse_counter(raw: bytes) -> int:
    text = raw.rstrip(b" \r\n")
    if not text or not text.isdigit():
        raise ValueError("generation counter holds non-numeric bytes: %r" % raw)
    return int(text)


# ---- the value envelope (PROTOCOL.md, "Entries") --------------------------------------

HEADER = struct.Struct("<2sBBqqqI")  # magic, version, kind, created, ttl, compute, length
ENVELOPE_HEADER_SIZE = 36
KIND_VALUE = 0
KIND_ABSENT = 1


def encode_envelope(kind: int, payload: bytes, created_ms: int, ttl_ms: int, compute_us: int) -> bytes:
    header = HEADER.pack(b"GC", 1, kind, created_ms, ttl_ms, compute_us, len(payload))
    crc = zlib.crc32(payload, zlib.crc32(header))  # CRC-32/IEEE of bytes 0..31, then payload
    return header + struct.pack("<I", crc) + payload


def decode_envelope(data: bytes):
    """The envelope's fields as a dict, or None when the bytes are not a valid envelope."""
    if len(data) < ENVELOPE_HEADER_SIZE:
        return None
    magic, version, kind, created, ttl, compute, length = HEADER.unpack_from(data, 0)
    (crc,) = struct.unpack_from("<I", data, 32)
    payload = data[ENVELOPE_HEADER_SIZE:]
    if magic != b"GC" or version != 1 or kind not in (KIND_VALUE, KIND_ABSENT):
        return None
    if length != len(payload) or crc != zlib.crc32(payload, zlib.crc32(data[:32])):
        return None
    if kind == KIND_ABSENT and length != 0:
        return None
    return {"kind": kind, "created_ms": created, "ttl_ms": ttl, "compute_us": compute, "payload": payload}


def memcached_expiration(ttl_ms: int, now_s: float) -> int:
    """0 never expires; up to 30 days: seconds from now (rounded up); beyond: a Unix time."""
    if ttl_ms == 0:
        return 0
    seconds = -(-ttl_ms // 1000)
    if seconds <= 30 * 24 * 3600:
        return seconds
    return min(math.ceil(now_s) + seconds, 2**31 - 1)


# ---- a client (PROTOCOL.md, "Reading", "Writing", "Bumping") --------------------------


INCREMENT_IF_EXISTS = (
    "if redis.call('EXISTS', KEYS[1]) == 0 then return false end "
    "redis.call('INCRBY', KEYS[1], ARGV[1]) "
    "return redis.call('GET', KEYS[1])"
)


class MemcachedStore:
    def __init__(self, server: str):
        from pymemcache.client.base import Client

        host, port = server.rsplit(":", 1)
        self.client = Client((host, int(port)), connect_timeout=2, timeout=2)

    def get_many(self, keys):
        return self.client.get_many(keys) if keys else {}

    def get(self, key):
        return self.client.get(key)

    def add(self, key, value):
        return self.client.add(key, value, expire=0, noreply=False)

    def incr(self, key):
        value = self.client.incr(key, 1, noreply=False)
        return None if value is None else int(value)

    def set(self, key, value, ttl_ms):
        self.client.set(key, value, expire=memcached_expiration(ttl_ms, time.time()), noreply=False)


class RedisClusterStore:
    """PROTOCOL.md, "Backend commands" and "Redis Cluster": redis-py maps keys to slots."""

    def __init__(self, seeds: str):
        from redis.cluster import ClusterNode, RedisCluster

        nodes = [ClusterNode(h, int(p)) for h, p in (s.rsplit(":", 1) for s in seeds.split(","))]
        self.client = RedisCluster(startup_nodes=nodes, socket_timeout=2)

    def get_many(self, keys):
        values = self.client.mget_nonatomic(keys) if keys else []
        return {k: v for k, v in zip(keys, values) if v is not None}

    def get(self, key):
        return self.client.get(key)

    def add(self, key, value):
        return bool(self.client.set(key, value, nx=True))

    def incr(self, key):
        value = self.client.eval(INCREMENT_IF_EXISTS, 1, key, 1)
        return None if value is None else int(value)

    def set(self, key, value, ttl_ms):
        self.client.set(key, value, px=ttl_ms)


class GencacheClient:
    def __init__(self, server: str, prefix: bytes, cluster: bool = False):
        self.store = RedisClusterStore(server) if cluster else MemcachedStore(server)
        self.prefix = prefix
        self.cluster = cluster

    def _ensure_counter(self, key: bytes) -> int:
        for _ in range(3):
            initial = fresh_generation()
            if self.store.add(key, str(initial).encode()):
                return initial
            raw = self.store.get(key)  # another client created it first: use theirs
            if raw is not None:
                return parse_counter(raw)
        raise RuntimeError("counter %r could not be created" % key)

    def generations(self, namespaces):
        """(namespace, generation) pairs in canonical order, read before any compute."""
        names = canonical_namespaces(namespaces)
        keys = [counter_key(self.prefix, ns, self.cluster) for ns in names]
        found = self.store.get_many(keys)
        return [
            (ns, parse_counter(found[k]) if k in found else self._ensure_counter(k))
            for ns, k in zip(names, keys)
        ]

    def bump(self, namespace: bytes) -> int:
        key = counter_key(self.prefix, namespace, self.cluster)
        for _ in range(3):
            value = self.store.incr(key)
            if value is not None:
                return value
            initial = fresh_generation()
            if self.store.add(key, str(initial).encode()):
                return initial
            # someone else created it meanwhile: increment theirs
        raise RuntimeError("counter %r kept vanishing during a bump" % key)

    def entry_key(self, key: bytes, generations) -> bytes:
        return versioned_key(self.prefix, generations, key, self.cluster)

    def read(self, key: bytes, namespaces):
        generations = self.generations(namespaces)
        vkey = self.entry_key(key, generations)
        raw = self.store.get(vkey)
        entry = decode_envelope(raw) if raw is not None else None
        fresh = entry is not None and time.time() * 1000 < entry["created_ms"] + entry["ttl_ms"]
        return vkey, generations, raw, entry, fresh

    def write(self, key: bytes, namespaces, kind: int, payload: bytes, ttl_ms: int):
        generations = self.generations(namespaces)  # before computing the value
        vkey = self.entry_key(key, generations)
        envelope = encode_envelope(kind, payload, int(time.time() * 1000), ttl_ms, 0)
        self.store.set(vkey, envelope, ttl_ms)
        return vkey, generations


# ---- command line -----------------------------------------------------------------------


def arg_bytes(text: str) -> bytes:
    return os.fsencode(text)


def text(data: bytes) -> str:
    return data.decode("ascii")


def main(argv):
    parser = argparse.ArgumentParser(description="gencache's wire format (docs/PROTOCOL.md)")
    parser.add_argument("--server", default="127.0.0.1:11211")
    parser.add_argument("--cluster", help="a Redis Cluster's seed nodes, HOST:PORT,...")
    parser.add_argument("--prefix", default="")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("counter-key").add_argument("namespace")
    key_cmd = sub.add_parser("key")
    key_cmd.add_argument("key")
    key_cmd.add_argument("--ns", action="append", default=[], help="NAMESPACE=GENERATION")
    sub.add_parser("generation").add_argument("namespace")
    sub.add_parser("bump").add_argument("namespace")
    for name in ("read", "write", "corrupt"):
        cmd = sub.add_parser(name)
        cmd.add_argument("key")
        cmd.add_argument("--ns", action="append", default=[])
        if name == "write":
            cmd.add_argument("--value")
            cmd.add_argument("--absent", action="store_true")
            cmd.add_argument("--ttl-ms", type=int, default=60_000)
    args = parser.parse_args(argv)
    prefix = arg_bytes(args.prefix)
    cluster = args.cluster is not None

    if args.command == "counter-key":
        print(json.dumps({"key": text(counter_key(prefix, arg_bytes(args.namespace), cluster))}))
        return 0
    if args.command == "key":
        pairs = []
        for item in args.ns:
            name, _, generation = arg_bytes(item).rpartition(b"=")
            pairs.append((name, int(generation)))
        pairs.sort()  # canonical order
        print(json.dumps({"key": text(versioned_key(prefix, pairs, arg_bytes(args.key), cluster))}))
        return 0

    client = GencacheClient(args.cluster if cluster else args.server, prefix, cluster)
    if args.command == "generation":
        ((_, generation),) = client.generations([arg_bytes(args.namespace)])
        print(json.dumps({"generation": generation}))
        return 0
    if args.command == "bump":
        print(json.dumps({"generation": client.bump(arg_bytes(args.namespace))}))
        return 0

    namespaces = [arg_bytes(ns) for ns in args.ns]
    key = arg_bytes(args.key)
    gens = None
    if args.command == "read":
        vkey, gens, raw, entry, fresh = client.read(key, namespaces)
        result = {
            "key": text(vkey),
            "generations": {text(escape(ns)): g for ns, g in gens},
            "found": raw is not None,
            "valid": entry is not None,
            "hit": fresh,
        }
        if entry is not None:
            result.update(
                kind="absent" if entry["kind"] == KIND_ABSENT else "value",
                payload=entry["payload"].decode("utf-8", "surrogateescape"),
                created_ms=entry["created_ms"],
                ttl_ms=entry["ttl_ms"],
                compute_us=entry["compute_us"],
            )
        print(json.dumps(result))
        return 0 if fresh else 3
    if args.command == "write":
        if args.absent == (args.value is not None):
            parser.error("write needs exactly one of --value and --absent")
        kind, payload = (KIND_ABSENT, b"") if args.absent else (KIND_VALUE, arg_bytes(args.value))
        vkey, gens = client.write(key, namespaces, kind, payload, args.ttl_ms)
        print(json.dumps({"key": text(vkey), "generations": {text(escape(ns)): g for ns, g in gens}}))
        return 0
    if args.command == "corrupt":
        gens = client.generations(namespaces)
        vkey = client.entry_key(key, gens)
        envelope = bytearray(encode_envelope(KIND_VALUE, b"tampered", int(time.time() * 1000), 60_000, 0))
        envelope[32] ^= 0xFF  # the checksum no longer matches
        client.store.set(vkey, bytes(envelope), 60_000)
        print(json.dumps({"key": text(vkey)}))
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
