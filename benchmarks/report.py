#!/usr/bin/env python3
"""Turns the Google Benchmark JSON written by scripts/bench into benchmarks/RESULTS.md,
benchmarks/invalidation.svg and the figures between the bench markers in README.md.

Every number it writes comes from the JSON of the run it is given: medians of the
repetitions (--benchmark_repetitions=5 --benchmark_report_aggregates_only=true). A
benchmark that failed or is missing shows as such; nothing is carried over from an
earlier run.

    benchmarks/report.py RESULTS_DIR [--markdown benchmarks/RESULTS.md]
                         [--chart benchmarks/invalidation.svg] [--readme README.md]

RESULTS_DIR holds one <program>.json per benchmark program and machine.json (written by
scripts/bench: cores, CPU, compiler, server versions, load, run time).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

TIME_UNITS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
SIZES = [10_000, 100_000, 1_000_000]


class Results:
    """Median aggregates of every benchmark run, by run name."""

    def __init__(self, directory):
        self.medians = {}
        self.cvs = {}  # coefficient of variation of the time over the repetitions
        self.errors = {}
        self.contexts = {}
        for name in sorted(os.listdir(directory)):
            if not name.endswith("_bench.json"):
                continue
            with open(os.path.join(directory, name)) as f:
                data = json.load(f)
            program = name[: -len(".json")]
            self.contexts[program] = data.get("context", {})
            for run in data.get("benchmarks", []):
                # "/real_time" only says how the time was taken (wall clock, as everywhere here).
                run_name = program + ":" + run.get("run_name", run["name"]).replace("/real_time", "")
                if run.get("error_occurred"):
                    self.errors[run_name] = run.get("error_message", "failed")
                elif run.get("run_type") == "aggregate" and run.get("aggregate_name") == "median":
                    self.medians[run_name] = run
                elif run.get("run_type") == "aggregate" and run.get("aggregate_name") == "cv":
                    self.cvs[run_name] = run.get("real_time")

    def run(self, name):
        if name in self.errors:
            raise Missing(f"error: {self.errors[name]}")
        if name not in self.medians:
            raise Missing("not run")
        return self.medians[name]

    def ns(self, name):
        """Median wall-clock time per iteration (per thread), in nanoseconds."""
        run = self.run(name)
        return run["real_time"] * TIME_UNITS[run.get("time_unit", "ns")]

    def spread(self, *names):
        """The relative spread of a ratio of these medians: the root sum of squares of each
        run's coefficient of variation across repetitions (a conservative bound)."""
        total = 0.0
        for name in names:
            self.run(name)
            total += self.cvs.get(name, 0.0) ** 2
        return total ** 0.5

    def cpu_ns(self, name):
        """Median CPU time of the benchmark's thread per iteration, in nanoseconds."""
        run = self.run(name)
        return run["cpu_time"] * TIME_UNITS[run.get("time_unit", "ns")]

    def counter(self, name, counter):
        run = self.run(name)
        if counter not in run:
            raise Missing(f"no {counter}")
        return run[counter]


class Missing(Exception):
    """A figure the run did not produce; its message goes in the table instead."""


def cell(fn):
    try:
        return fn()
    except Missing as e:
        return str(e)


def fmt_time(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:,.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:,.2f} µs"
    return f"{ns:,.1f} ns"


def fmt_ratio(x):
    return f"{x:,.0f}x" if x >= 100 else f"{x:.2f}x" if x < 10 else f"{x:.1f}x"


def verdict(ok):
    return "met" if ok else "**MISSED**"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


class Report:
    def __init__(self, results, machine):
        self.r = results
        self.load_note = ""
        try:
            load, cores = float(machine["load_before"]), int(machine["cores"])
            if load >= cores:
                self.load_note = (f" The machine's load average was {load:g} on {cores} cores when "
                                  "the run began: two benchmark threads did not have two cores to "
                                  "themselves, so these ratios say more about the machine than "
                                  "about the code.")
        except (KeyError, ValueError):
            pass
        self.sections = []
        self.targets = []  # (comparison, target, figure, met or None when not measured)
        self.headline = {}

    def target(self, comparison, target, measure, ok_if, noise=None):
        """Records one target: `measure` returns the figure, `ok_if` tells whether it is met,
        `noise` (optional) the figure's relative spread across repetitions."""
        try:
            value = measure()
            met = ok_if(value)
            spread = noise() if noise else None
            self.targets.append((comparison, target, value, met, spread))
            return value, verdict(met)
        except Missing as e:
            self.targets.append((comparison, target, str(e), None, None))
            return None, str(e)

    def section(self, title, text, body):
        self.sections.append(f"## {title}\n\n{text}\n\n{body}\n")

    # 1 ---------------------------------------------------------------------------------------
    def memcached_reads(self):
        r = self.r
        raw = "memcached_bench:BM_RawGet"
        rows = [["raw libmemcached `memcached_get`", cell(lambda: fmt_time(r.ns(raw))), "1.00x", "1.00x", "1", "", ""]]
        for count in (1, 3):
            name = f"memcached_bench:BM_GencacheHit/namespaces:{count}"
            ratio, mark = self.target(
                f"1. Memcached read, {count} namespace{'s' if count > 1 else ''}",
                "gencache / raw <= 1.10",
                lambda: r.ns(name) / r.ns(raw),
                lambda x: x <= 1.10,
                noise=lambda: r.spread(name, raw),
            )
            rows.append([
                f"gencache hit, {count} namespace{'s' if count > 1 else ''}",
                cell(lambda: fmt_time(r.ns(name))),
                fmt_ratio(ratio) if ratio is not None else mark,
                cell(lambda: fmt_ratio(r.cpu_ns(name) / r.cpu_ns(raw))),
                cell(lambda: f"{r.counter(name, 'round_trips_per_read'):.2f}"),
                "<= 1.10x",
                mark if ratio is not None else "",
            ])
            if count == 1 and ratio is not None:
                self.headline["read_ratio"] = ratio
        self.section(
            "1. Read from Memcached: gencache hit vs raw libmemcached",
            "A 512 B value, 100 keys in turn. The gencache hit is one multi-get of the "
            "namespace counters and the entry at the hinted generations; it also checks the "
            "envelope (CRC-32) and copies the payload out. Client and server share one core "
            "(see Machine), so a round trip here is the two programs' CPU time back to back "
            "(about 20 us) rather than a network's hundreds: the extra key the server looks up "
            "and sends (the counter) and the longer versioned key weigh more here than they "
            "would across a network. Client CPU is the benchmark thread's CPU time.",
            table(["read", "median time", "vs raw", "client CPU vs raw", "round trips / read", "target", ""], rows),
        )

    # 2 ---------------------------------------------------------------------------------------
    def naive(self):
        r = self.r
        naive, gen = "memcached_bench:BM_NaiveTwoRoundTrips", "memcached_bench:BM_GencacheHit/namespaces:1"
        speedup, mark = self.target(
            "2. One vs two round trips", "gencache >= 1.6x faster", lambda: r.ns(naive) / r.ns(gen), lambda x: x >= 1.6,
            noise=lambda: r.spread(naive, gen),
        )
        if speedup is not None:
            self.headline["naive_speedup"] = speedup
        rows = [
            ["textbook scheme: get counter, then get value (raw libmemcached)", cell(lambda: fmt_time(r.ns(naive))), "2", ""],
            ["gencache hit, 1 namespace", cell(lambda: fmt_time(r.ns(gen))),
             cell(lambda: f"{r.counter(gen, 'round_trips_per_read'):.2f}"),
             f"{fmt_ratio(speedup)} faster (target >= 1.6x): {mark}" if speedup is not None else mark],
        ]
        self.section(
            "2. Namespaced read: one round trip vs the textbook two",
            "Both read a 512 B value under a namespace generation from the same memcached.",
            table(["read", "median time", "round trips", "speedup"], rows),
        )

    # 3 ---------------------------------------------------------------------------------------
    def memcached_bump(self):
        r = self.r
        rows = []
        for size in SIZES:
            raw, bump = f"memcached_bench:BM_RawIncrement/entries:{size}", f"memcached_bench:BM_BumpNamespace/entries:{size}"
            ratio, mark = self.target(
                f"3. Bump vs raw increment, {size:,} entries", "bump / raw <= 1.10",
                lambda: r.ns(bump) / r.ns(raw), lambda x: x <= 1.10,
                noise=lambda: r.spread(bump, raw),
            )
            rows.append([
                f"{size:,}",
                cell(lambda: f"{r.counter(bump, 'entries_cached'):,.0f}"),
                cell(lambda: f"{r.counter(bump, 'evictions'):,.0f}"),
                cell(lambda: fmt_time(r.ns(raw))),
                cell(lambda: fmt_time(r.ns(bump))),
                fmt_ratio(ratio) if ratio is not None else mark,
                mark if ratio is not None else "",
            ])
        first, last = f"memcached_bench:BM_BumpNamespace/entries:{SIZES[0]}", f"memcached_bench:BM_BumpNamespace/entries:{SIZES[-1]}"
        growth, gmark = self.target(
            "3. Bump time, 10^6 / 10^4 entries", "<= 1.2", lambda: r.ns(last) / r.ns(first), lambda x: x <= 1.2,
            noise=lambda: r.spread(last, first),
        )
        text = (
            "`bump_namespace(ns(\"user\", 42))` (one increment through gencache's pool, with the "
            "counter key built and the hint updated) beside a raw `memcached_increment`, with "
            "the server first filled with gencache entries (512 B values in their envelopes, "
            "under the versioned keys of 1,000 user namespaces). Target: bump / raw <= 1.10.\n\n"
            + (f"Bump time at 10^6 entries / at 10^4: **{growth:.2f}** (target <= 1.2: {gmark})."
               if growth is not None else f"Bump time growth: {gmark}.")
        )
        self.section(
            "3. Invalidation on Memcached: bump_namespace vs raw increment",
            text,
            table(["entries (target)", "items in memcached", "evictions", "raw increment", "bump_namespace", "bump / raw", ""], rows),
        )

    # 4 ---------------------------------------------------------------------------------------
    def pattern_delete(self):
        r = self.r
        rows = []
        for size in SIZES:
            scan, bump = f"pattern_delete_bench:BM_RedisDeletePattern/keys:{size}", f"pattern_delete_bench:BM_RedisBumpNamespace/keys:{size}"
            if size == SIZES[-1]:
                speedup, mark = self.target(
                    "4. Bump vs pattern deletion at 10^6 keys", ">= 10,000x",
                    lambda: r.ns(scan) / r.ns(bump), lambda x: x >= 10_000,
                    noise=lambda: r.spread(scan, bump),
                )
                if speedup is not None:
                    self.headline["pattern_speedup"] = speedup
                    self.headline["pattern_ms"] = r.ns(scan) / 1e6
                    self.headline["bump_us"] = r.ns(bump) / 1e3
            else:
                try:
                    speedup, mark = r.ns(scan) / r.ns(bump), ""
                except Missing as e:
                    speedup, mark = None, str(e)
            rows.append([
                f"{size:,}",
                cell(lambda: f"{r.counter(scan, 'keyspace'):,.0f}"),
                cell(lambda: f"{r.counter(scan, 'deleted'):,.0f}"),
                cell(lambda: fmt_time(r.ns(scan))),
                cell(lambda: fmt_time(r.ns(bump))),
                (fmt_ratio(speedup) + (f" ({mark}, target >= 10,000x)" if mark else "")) if speedup is not None else mark,
            ])
        self.section(
            "4. Invalidating one user's entries: pattern deletion on Redis vs bump_namespace",
            "What django-redis's `delete_pattern` does, through hiredis: `SCAN cursor MATCH "
            "user_42_* COUNT 1000` until the cursor returns to 0, then one `DEL` of the matches "
            "(the user's 100 entries, put back untimed after each deletion). The rest of the "
            "keyspace is other users' 512 B entries. Beside it, `bump_namespace` through "
            "gencache's Redis backend on the same server and keyspace. "
            "Chart: [invalidation.svg](invalidation.svg).",
            table(["keys in Redis (target)", "keyspace", "deleted", "SCAN + DEL", "bump_namespace", "speedup"], rows),
        )

    # 5 ---------------------------------------------------------------------------------------
    def vs_maps_row(self, what, label, flat, mutex, hit, limit=1.5):
        """One row of a section-5 table: a hit beside the flat map (at most `limit` times
        it: issue 17 allows 2.0x with 3 namespaces) and the mutex map."""
        r = self.r
        vs_flat, flat_mark = self.target(f"5. {what} vs flat map, {label}", f"<= {limit}x",
                                         lambda: r.ns(hit) / r.ns(flat), lambda x: x <= limit, noise=lambda: r.spread(hit, flat))
        vs_mutex, mutex_mark = self.target(f"5. {what} vs mutex map, {label}", "< 1.0x",
                                           lambda: r.ns(hit) / r.ns(mutex), lambda x: x < 1.0, noise=lambda: r.spread(hit, mutex))
        return [
            label,
            cell(lambda: fmt_time(r.ns(flat))),
            cell(lambda: fmt_time(r.ns(mutex))),
            cell(lambda: fmt_time(r.ns(hit))),
            f"{fmt_ratio(vs_flat)} {flat_mark}" if vs_flat is not None else flat_mark,
            f"{fmt_ratio(vs_mutex)} {mutex_mark}" if vs_mutex is not None else mutex_mark,
        ]

    def in_process(self):
        r = self.r
        rows = []
        for threads in (1, 2):
            flat = f"cache_bench:BM_FlatMapFindCopy/threads:{threads}"
            mutex = f"cache_bench:BM_MutexMapFindCopy/threads:{threads}"
            for count in (1, 3):
                hit = f"cache_bench:BM_CachedHit/namespaces:{count}/threads:{threads}"
                label = f"{threads} thread{'s' if threads > 1 else ''}, {count} namespace{'s' if count > 1 else ''}"
                rows.append(self.vs_maps_row("memory:// Cache hit", label, flat, mutex, hit,
                                             limit=1.5 if count == 1 else 2.0))
        cache_table = table(["threads, namespaces", "flat map find + copy", "mutex + unordered_map",
                             "gencache `cached` hit", "vs flat map (<= 1.5x; 2.0x with 3)", "vs mutex map (< 1x)"], rows)

        rows = []
        for threads in (1, 2):
            flat = f"memory_backend_bench:BM_FlatMapFindCopy/threads:{threads}"
            mutex = f"memory_backend_bench:BM_MutexUnorderedMapFindCopy/threads:{threads}"
            for count in (1, 3):
                hit = f"memory_backend_bench:BM_InProcessStoreHit/namespaces:{count}/threads:{threads}"
                label = f"{threads} thread{'s' if threads > 1 else ''}, {count} namespace{'s' if count > 1 else ''}"
                rows.append(self.vs_maps_row("in-process store hit", label, flat, mutex, hit,
                                             limit=1.5 if count == 1 else 2.0))
        store_table = table(["threads, namespaces", "flat map find + copy", "mutex + unordered_map",
                             "in-process store hit", "vs flat map (<= 1.5x; 2.0x with 3)", "vs mutex map (< 1x)"], rows)

        rows = []
        for threads in (1, 2):
            flat = f"memory_backend_bench:BM_FlatMapFindCopy/threads:{threads}"
            mutex = f"memory_backend_bench:BM_MutexUnorderedMapFindCopy/threads:{threads}"
            for ttl, name in (("no TTL", "memory_backend_bench:BM_MemoryBackendHit"), ("TTL", "memory_backend_bench:BM_MemoryBackendHitWithTtl")):
                label = f"{threads} thread{'s' if threads > 1 else ''}, {ttl}"
                rows.append(self.vs_maps_row("MemoryBackend hit", label, flat, mutex, f"{name}/threads:{threads}"))
        backend_table = table(["threads, items", "flat map find + copy", "mutex + unordered_map",
                               "`MemoryBackend` hit", "vs flat map (<= 1.5x)", "vs mutex map (< 1x)"], rows)

        rows = []
        for label, name in (("gencache `cached` hit, 1 namespace", "cache_bench:BM_CachedHit/namespaces:1"),
                            ("gencache `cached` hit, 3 namespaces", "cache_bench:BM_CachedHit/namespaces:3"),
                            ("in-process store hit, 1 namespace", "memory_backend_bench:BM_InProcessStoreHit/namespaces:1"),
                            ("`MemoryBackend` hit, no TTL", "memory_backend_bench:BM_MemoryBackendHit"),
                            ("`MemoryBackend` hit, TTL", "memory_backend_bench:BM_MemoryBackendHitWithTtl"),
                            ("flat map find + copy", "cache_bench:BM_FlatMapFindCopy"),
                            ("mutex + unordered_map", "cache_bench:BM_MutexMapFindCopy")):
            one, two = f"{name}/threads:1", f"{name}/threads:2"
            judged = not label.startswith(("flat", "mutex"))
            if judged:
                scale, mark = self.target(f"5. 2-thread scaling, {label}", ">= 1.7x",
                                          lambda: r.counter(two, "items_per_second") / r.counter(one, "items_per_second"),
                                          lambda x: x >= 1.7, noise=lambda: r.spread(one, two))
            else:
                try:
                    scale, mark = r.counter(two, "items_per_second") / r.counter(one, "items_per_second"), ""
                except Missing as e:
                    scale, mark = None, str(e)
            rows.append([
                label,
                cell(lambda: f"{r.counter(one, 'items_per_second') / 1e6:.2f} M/s"),
                cell(lambda: f"{r.counter(two, 'items_per_second') / 1e6:.2f} M/s"),
                (fmt_ratio(scale) + (f" {mark}" if mark else "")) if scale is not None else mark,
            ])
        scaling_table = table(["reads", "1 thread", "2 threads", "2 / 1 (target >= 1.7x)"], rows)
        self.section(
            "5. In-process: memory:// vs a bare flat map and a mutex-guarded map",
            "10^4 hot keys, 512 B values, read in a scattered order; with 2 threads both read "
            "at once (time is per read per thread). Each read hands back its own copy of the "
            "value. Three levels: the whole `Cache` on memory:// (its in-process path: the "
            "entry's identity, one lookup, one generation compare per namespace, the "
            "freshness decision, the payload copy) against maps keyed by the user's key; the "
            "in-process store alone (lookup, compares, copy into a reused entry); and the "
            "`MemoryBackend`'s byte API alone (copying into a reused buffer).\n\n"
            "Whole `Cache` (cache_bench):\n\n" + cache_table +
            "\n\nIn-process store alone (memory_backend_bench):\n\n" + store_table +
            "\n\n`MemoryBackend` byte API alone (memory_backend_bench):\n\n" + backend_table +
            "\n\nThroughput, 2 threads against 1." + self.load_note +
            "\n\nWhere a row misses its target, the callgrind tables below say why. The "
            "flat map does a lookup by the user's key and a copy, and allows no writer while "
            "it is read. A memory:// hit also builds the entry's identity (its key and its "
            "namespaces), takes its shard's read lock (so that bumps, writes and eviction run "
            "beside readers), checks the expiry and each namespace's generation, decides the "
            "freshness and counts the hit: \"Profile of a memory:// hit\" gives each part's "
            "instructions. The in-process store alone is the lookup, the lock, the compares "
            "and the copy, which is why it is nearest to the map. The mutex map at 1 thread is "
            "the flat map plus one uncontended lock; at 2 threads its one mutex serializes the "
            "readers, where the sharded store does not. Scaling figures within their spread "
            "land on either side of 1.7x from run to run.",
            scaling_table,
        )

    # 6 ---------------------------------------------------------------------------------------
    def wrapper(self):
        r = self.r
        rows = []
        for backend, program in (("memory://", "cache_bench"), ("memcached://", "memcached_bench")):
            hand_k, call_k = f"{program}:BM_HandWrittenGetComputeSet", f"{program}:BM_CachedCallHit"
            ratio, mark = self.target(f"6. cached_call overhead, {backend}", "<= 1.05",
                                      lambda: r.ns(call_k) / r.ns(hand_k), lambda x: x <= 1.05, noise=lambda: r.spread(call_k, hand_k))
            rows.append([backend, cell(lambda: fmt_time(r.ns(hand_k))), cell(lambda: fmt_time(r.ns(call_k))),
                         fmt_ratio(ratio) if ratio is not None else mark, mark if ratio is not None else ""])
        self.section(
            "6. Wrapper overhead: cached_call vs hand-written get / compute / set",
            "Hits on 100 pages of one user, 512 B each. Target: cached_call / hand-written <= 1.05.",
            table(["backend", "hand-written", "cached_call", "ratio", ""], rows),
        )

    # 7 ---------------------------------------------------------------------------------------
    def batch(self):
        r = self.r
        raw, many = "memcached_bench:BM_RawMget/keys:100", "memcached_bench:BM_GencacheGetMany/keys:100"
        own = "memcached_bench:BM_RawMgetOfTheCachesKeys/keys:101"
        ratio, mark = self.target("7. get_many of 100 vs raw mget", "<= 1.2", lambda: r.ns(many) / r.ns(raw), lambda x: x <= 1.2, noise=lambda: r.spread(many, raw))

        def vs(name):
            return cell(lambda: fmt_ratio(r.ns(name) / r.ns(raw)))

        def cpu_vs(name):
            return cell(lambda: fmt_ratio(r.cpu_ns(name) / r.cpu_ns(raw)))

        rows = [
            ["raw libmemcached `memcached_mget` + fetch of the user's 100 keys",
             cell(lambda: f"{r.counter(raw, 'key_bytes'):.0f} B"), cell(lambda: fmt_time(r.ns(raw))), "1.00x", "1.00x", ""],
            ["raw mget of the very keys gencache reads (100 versioned keys + the counter)",
             cell(lambda: f"{r.counter(own, 'key_bytes'):.0f} B"), cell(lambda: fmt_time(r.ns(own))), vs(own), cpu_vs(own), ""],
            ["gencache `get_many` of 100 entries, 1 namespace (1 round trip)",
             cell(lambda: f"{r.counter(own, 'key_bytes'):.0f} B"), cell(lambda: fmt_time(r.ns(many))),
             fmt_ratio(ratio) if ratio is not None else mark, cpu_vs(many), mark if ratio is not None else ""],
        ]
        self.section("7. Batch read: get_many vs raw mget (Memcached)",
                     "100 entries of 512 B under one namespace; the target (<= 1.2x) is on wall-clock "
                     "time. The middle row sends the Cache's own keys through raw libmemcached: "
                     "between it and the first row is the cost of longer keys (in libmemcached and "
                     "in the server), between it and the last the Cache's own work per entry "
                     "(building the versioned key, checking the envelope's CRC-32, copying the "
                     "payload out). The client CPU column is the benchmark thread's CPU time, which "
                     "leaves out the server and the network.",
                     table(["read", "key length", "median time", "vs raw", "client CPU vs raw", ""], rows))

    # 8 ---------------------------------------------------------------------------------------
    def memory(self):
        r = self.r
        backend = "memory_backend_bench:BM_MemoryOverheadPerEntry/iterations:1"
        cache = "cache_bench:BM_CacheOverheadPerEntry/iterations:1"
        b, bmark = self.target("8. MemoryBackend bytes per entry beyond key and value", "<= 64",
                               lambda: r.counter(backend, "overhead_bytes_per_entry"), lambda x: x <= 64)

        def beyond_stored():
            return (r.counter(cache, "overhead_bytes_per_entry") - r.counter(cache, "entry_record_bytes")
                    - r.counter(cache, "identity_bytes"))

        c, cmark = self.target("8. Cache entry bytes beyond the stored key and value", "<= 64", beyond_stored, lambda x: x <= 64)
        rows = [
            ["`MemoryBackend`: heap beyond key and value (mallinfo2)", cell(lambda: f"{r.counter(backend, 'overhead_bytes_per_entry'):.1f}"),
             f"<= 64: {bmark}" if b is not None else bmark],
            ["`MemoryBackend`: bytes it accounts against max_bytes beyond key and value",
             cell(lambda: f"{r.counter(backend, 'accounted_overhead_bytes_per_entry'):.1f}"), ""],
            ["`Cache` on memory://: heap beyond the user's key and value", cell(lambda: f"{r.counter(cache, 'overhead_bytes_per_entry'):.1f}"), ""],
            ["of which the entry record (created, TTL, compute time, kind; counter and generation)", cell(lambda: f"{r.counter(cache, 'entry_record_bytes'):.0f}"), ""],
            ["of which the identity's growth over the key (lengths, the namespace's name)", cell(lambda: f"{r.counter(cache, 'identity_bytes'):.1f}"), ""],
            ["the rest: item header, malloc rounding, index and ring, counters (amortized)", cell(lambda: f"{beyond_stored():.1f}"),
             f"<= 64: {cmark}" if c is not None else cmark],
        ]
        if b is not None:
            self.headline["bytes_per_entry"] = b
        self.section(
            "8. Memory per entry (memory://)",
            "10^5 entries of a 16-byte key and a 64-byte value; heap measured with glibc's "
            "mallinfo2 before and after. At the Cache level (memory://'s in-process path) an "
            "entry is one item: its identity (the key, the namespace's name and four length "
            "bytes), a 35-byte record (19 of times and kind, 16 per namespace for its counter "
            "and generation), packed after the identity with no padding, and the payload; no "
            "envelope and no versioned key. glibc rounds "
            "every block up to 16 bytes, so the rows differ by where the sizes fall against "
            "that rounding as well as by the record.",
            table(["bytes per entry", "median", "target"], rows),
        )

    # 9 ---------------------------------------------------------------------------------------
    def async_hit(self):
        r = self.r
        blocking, awaited = "async_cache_bench:BM_CacheHit", "async_cache_bench:BM_AsyncCacheHit"
        ratio, mark = self.target("9. AsyncCache hit vs Cache hit, memory://", "<= 1.3x",
                                  lambda: r.ns(awaited) / r.ns(blocking), lambda x: x <= 1.3,
                                  noise=lambda: r.spread(awaited, blocking))
        rows = [
            ["`Cache::cached` hit", cell(lambda: fmt_time(r.ns(blocking))), "1.00x", ""],
            ["`AsyncCache::async_cached` hit, `co_await`ed on a one-thread io_context",
             cell(lambda: fmt_time(r.ns(awaited))), fmt_ratio(ratio) if ratio is not None else mark,
             mark if ratio is not None else ""],
        ]
        self.section(
            "9. The asynchronous API's own cost: AsyncCache vs Cache hit (memory://)",
            "10^4 hot keys of 512 B under one namespace, both APIs reading the same memory "
            "backend in the same run (async_cache_bench). A memory:// hit awaited with "
            "use_awaitable is read and decided when `async_cached` is called and completes "
            "through an awaitable that is ready at once, so the difference is that awaitable's "
            "frame and the moves of the value through it. The callgrind table below counts both "
            "(`async_cached_hit_1ns` against `cached_hit_1ns`), free of the machine's noise. "
            "Target: <= 1.3x.",
            table(["read", "median time", "vs Cache", ""], rows),
        )

    # 11 --------------------------------------------------------------------------------------
    def meta_client(self):
        """The asynchronous meta-protocol Memcached client (meta_bench) beside blocking reads."""
        r = self.r
        prefix = "meta_bench:"
        async_name = lambda n, c=1: f"{prefix}BM_AsyncRead/in_flight:{n}/connections:{c}"
        blocking = {t: f"{prefix}BM_BlockingRead/threads:{t}" for t in (1, 8, 16)}
        rate = lambda name: r.counter(name, "items_per_second")

        def best_blocking():
            return max(rate(name) for name in blocking.values())

        ratio64, mark64 = self.target("11. Async reads, 64 in flight, vs the best blocking pool",
                                      ">= 3x", lambda: rate(async_name(64)) / best_blocking(),
                                      lambda x: x >= 3)
        single, mark1 = self.target("11. One async read in flight vs raw memcached_get", "<= 1.10x",
                                    lambda: r.ns(async_name(1)) / r.ns(f"{prefix}BM_RawGet"),
                                    lambda x: x <= 1.10,
                                    noise=lambda: r.spread(async_name(1), f"{prefix}BM_RawGet"))
        conns, markc = self.target("11. Connections used by 256 reads in flight", "<= 4 per server",
                                   lambda: r.counter(async_name(256), "connections"),
                                   lambda x: x <= 4)
        rows = []
        for n in (1, 8, 64, 256):
            for c in (1, 2):
                name = async_name(n, c)
                rows.append([f"async, {n} in flight, {c} connection{'s' if c > 1 else ''}",
                             cell(lambda: f"{rate(name) / 1e3:,.0f} k/s"),
                             cell(lambda: f"{r.counter(name, 'p50_us'):,.0f} us"),
                             cell(lambda: f"{r.counter(name, 'p99_us'):,.0f} us"),
                             cell(lambda: f"{r.counter(name, 'connections'):.0f}")])
        for t, name in blocking.items():
            rows.append([f"blocking backend, {t} thread{'s' if t > 1 else ''}",
                         cell(lambda: f"{rate(name) / 1e3:,.0f} k/s"), "", "", ""])
        for t in (1, 8, 16):
            name = f"{prefix}BM_BlockingCacheHit/threads:{t}"
            rows.append([f"blocking `Cache` hit, {t} thread{'s' if t > 1 else ''}",
                         cell(lambda: f"{rate(name) / 1e3:,.0f} k/s"), "", "", ""])
        rows.append(["raw `memcached_get`", cell(lambda: f"{rate(prefix + 'BM_RawGet') / 1e3:,.0f} k/s"),
                     cell(lambda: fmt_time(r.ns(prefix + "BM_RawGet"))), "", ""])
        targets = table(["target", "figure", ""], [
            [">= 3x the best blocking pool at 64 in flight", fmt_ratio(ratio64) if ratio64 is not None else mark64,
             mark64 if ratio64 is not None else ""],
            ["one read in flight <= 1.10x a raw `memcached_get`", fmt_ratio(single) if single is not None else mark1,
             mark1 if single is not None else ""],
            ["<= 4 connections at 256 in flight", f"{conns:.0f}" if conns is not None else markc,
             markc if conns is not None else ""],
        ])
        self.section(
            "11. The asynchronous Memcached client: pipelined reads vs blocking threads",
            "Single-key reads of a 512 B value against one memcached (-t 1) on the same core as "
            "the client (meta_bench). The async rows run on one thread: N reads always in "
            "flight, each completion starting the next, over 1 or 2 pipelined connections; "
            "p50/p99 is each read's latency, and connections is what the client opened (the "
            "server's curr_connections before and after). The blocking rows are the libmemcached "
            "backend's `visit_many` (and a `Cache` hit) from T threads on a pool of 16. "
            "Throughput is reads per second of wall-clock time, the median of repetitions run "
            "in random order (so that a burst of load on the machine does not land on one side "
            "of a ratio only). How `Stats::round_trips` "
            "counts pipelined requests: one per backend call the cache makes, that is one "
            "per read in the steady state (its counter keys and the speculative entry key go "
            "out as one batch of `mg` requests), however many other coroutines' requests share "
            "its write or its connection: each read still waits for one network round trip, "
            "and a batch that pipelining merges into one `send` is not counted as less.",
            table(["read", "throughput", "p50", "p99", "connections"], rows) + "\n\n" + targets,
        )

    # 12 --------------------------------------------------------------------------------------
    def redis_scale(self):
        """The asynchronous Redis client (redis_async_bench), Redis Cluster reads and
        failover-safe bumps (redis_cluster_bench)."""
        r = self.r
        rate = lambda name: r.counter(name, "items_per_second")
        pipelined = "redis_async_bench:BM_AsyncPipelinedHits"
        pools = {t: f"redis_async_bench:BM_BlockingPoolHits/threads:{t}" for t in (1, 8, 16, 64)}

        def best_pool():
            rates = [rate(name) for name in pools.values() if name in r.medians]
            if not rates:
                raise Missing("not run")
            return max(rates)

        ratio, mark = self.target("12. Redis async reads, 64 in flight, vs the best blocking pool",
                                  ">= 3x", lambda: rate(pipelined) / best_pool(), lambda x: x >= 3)
        async_rows = [["async client, 64 in flight on one connection, one thread",
                       cell(lambda: f"{rate(pipelined) / 1e3:,.0f} k/s"), ""]]
        for t, name in pools.items():
            async_rows.append([f"blocking backend (hiredis), {t} thread{'s' if t > 1 else ''}",
                               cell(lambda: f"{rate(name) / 1e3:,.0f} k/s"), ""])
        async_rows.append(["async / best blocking", fmt_ratio(ratio) if ratio is not None else mark,
                           mark if ratio is not None else ""])

        raw = "redis_cluster_bench:BM_RawGetOneNode"
        cluster_rows = [["raw `GET` on one node (hiredis)", cell(lambda: fmt_time(r.ns(raw))), "1.00x", ""]]
        for n, client, what in (
                (1, 0, "gencache hit, 1 namespace (one MGET, one node)"),
                (3, 0, "gencache hit, 3 namespaces on 3 nodes (3 MGETs sent together)"),
                (1, 1, "the same through the asynchronous cluster client on an I/O thread, 1 namespace"),
                (3, 1, "the same through the asynchronous cluster client, 3 namespaces on 3 nodes")):
            name = f"redis_cluster_bench:BM_ClusterHit/namespaces_on_nodes:{n}/async_client:{client}"
            cluster_rows.append([what, cell(lambda: fmt_time(r.ns(name))),
                                 cell(lambda: fmt_ratio(r.ns(name) / r.ns(raw))),
                                 cell(lambda: f"{r.counter(name, 'round_trips'):.2f}")])

        incr = "redis_cluster_bench:BM_RawIncr"
        bump_rows = [["raw `INCR`", cell(lambda: fmt_time(r.ns(incr))), "1.00x", ""]]
        for n in (0, 1):
            name = f"redis_cluster_bench:BM_Bump/wait_replicas:{n}"
            bump_rows.append([f"`bump_namespace`, `wait_replicas={n}`", cell(lambda: fmt_time(r.ns(name))),
                              cell(lambda: fmt_ratio(r.ns(name) / r.ns(incr))),
                              cell(lambda: f"{r.counter(name, 'round_trips'):.2f}")])
        wait_cost = cell(lambda: fmt_time(r.ns("redis_cluster_bench:BM_Bump/wait_replicas:1")
                                          - r.ns("redis_cluster_bench:BM_Bump/wait_replicas:0")))
        self.section(
            "12. Redis at scale: the async client, the cluster, failover-safe bumps",
            "Against redis-server processes the programs start (persistence off, loopback, "
            "client and servers on one core). First, reads of a 512 B value with 64 in flight "
            "through the asynchronous client (`redis_async_bench`: one event-loop thread, one "
            "pipelined connection) beside the blocking hiredis backend from T threads, each "
            "borrowing one of 64 pooled connections; throughput is reads per second of "
            "wall-clock time. Then a `cached` hit on a 3-master cluster beside a raw GET on one "
            "of its nodes (`redis_cluster_bench`); `round_trips` is `Stats::round_trips` per "
            "read: one backend call, even when the cluster backend splits it into one MGET "
            "per node and sends them together, since the read waits one round trip of wall "
            "time. Last, a bump "
            "on a master with one replica, without and with `wait_replicas=1` (the INCR script "
            f"plus `WAIT 1`): WAIT costs {wait_cost} per bump here.",
            table(["read", "throughput", ""], async_rows) + "\n\n"
            + table(["cluster read", "median time", "vs raw GET", "round_trips"], cluster_rows) + "\n\n"
            + table(["bump", "median time", "vs raw INCR", "round_trips"], bump_rows),
        )

    # 10 --------------------------------------------------------------------------------------
    def demo_servers(self, path):
        """The demo servers, blocking and coroutine, at the same thread count under the same
        load (scripts/bench's demo_servers.txt: one load_client RESULT line per server)."""
        runs = {}
        if os.path.exists(path):
            for line in open(path):
                fields = dict(f.split("=", 1) for f in line.split()[1:] if "=" in f)
                runs[fields.get("label", "?")] = fields
        rows = []
        for label, what in (("blocking", "`dashboard_server --blocking` (Cache, sleeping render)"),
                            ("async", "`dashboard_server` (AsyncCache, awaited render)")):
            run = runs.get(label)
            rows.append([what] + ([run.get(k, "?") for k in ("rps", "p50_ms", "p99_ms", "renders")]
                                  if run else ["not run"] * 4))
        if "blocking" in runs and "async" in runs:
            try:
                speedup = float(runs["async"]["rps"]) / float(runs["blocking"]["rps"])
                rows.append(["async / blocking", fmt_ratio(speedup), "", "", ""])
            except (KeyError, ValueError, ZeroDivisionError):
                pass
        self.section(
            "10. The demo servers: blocking vs coroutines at the same thread count",
            "examples/dashboard_server both ways, each on 2 I/O threads and memory://, under the "
            "same load_client run (8 connections, 1,000 users, 5 pages, 5% writes, so that "
            "renders keep happening). A blocking request holds its thread for the 2 ms render; "
            "a coroutine awaits it as a timer, and its thread serves other connections meanwhile.",
            table(["server", "req/s", "p50 ms", "p99 ms", "renders"], rows),
        )

    def instructions(self, path):
        """Instructions per operation from callgrind (scripts/bench's instructions.txt)."""
        labels = {
            "cached_hit_1ns": "`cached` hit, 1 namespace",
            "cached_hit_3ns": "`cached` hit, 3 namespaces",
            "async_cached_hit_1ns": "`AsyncCache::async_cached` hit, 1 namespace, awaited with use_awaitable",
            "get_hit": "`get` hit, 1 namespace",
            "get_many_100": "`get_many` of 100 entries, 1 namespace",
            "flat_map_find_copy": "baseline: `boost::unordered_flat_map` find + copy (not memory://)",
            "memcached_raw_get": None,
            "memcached_hit": None,
            "memcached_raw_mget": None,
            "memcached_get_many": None,
            "memcached_async_read_64": None,
            "backend_hit_ttl": "`MemoryBackend` hit (item with a TTL)",
            "store_hit_1ns": "in-process store hit alone (lookup, 1 generation compare, copy out)",
            "store_hit_3ns": "in-process store hit alone, 3 namespaces",
            "bump": "`bump_namespace`",
        }
        rows = []
        if os.path.exists(path):
            with open(path) as f:
                for line in f:
                    parts = line.split()
                    if parts and parts[0] in labels and labels[parts[0]] is None:
                        continue  # in the Memcached client table
                    if len(parts) == 3 and parts[2].isdigit():
                        if parts[0] == "cached_hit_1ns":
                            self.headline["hit_instructions"] = int(parts[2]) / int(parts[1])
                        rows.append([labels.get(parts[0], parts[0]), f"{int(parts[1]):,}",
                                     f"{int(parts[2]) / int(parts[1]):,.0f}"])
                    elif parts:
                        rows.append([labels.get(parts[0], parts[0]), "", "not measured"])
        body = table(["operation on memory://", "operations", "instructions / operation"], rows) if rows else "Not measured in this run."
        self.section(
            "Instructions per operation (callgrind)",
            "The memory:// hot paths in a loop (`benchmarks/hot_path_profile`) under "
            "`valgrind --tool=callgrind`, counting only the loop. Unlike times, these counts "
            "do not depend on the machine's load, so they compare builds exactly; the "
            "commits that changed them give their before and after "
            "(`git log -- src/envelope.cpp src/key_encoding.cpp src/cache.cpp "
            "include/gencache/cache-inl.hpp src/backends/memory`).",
            body,
        )

    def hit_profile(self, instructions_path, profile_path):
        """Where a memory:// `cached` hit's instructions go (callgrind, inclusive counts)."""
        counts = {name: per_op for name, (per_op, _) in read_instruction_counts(instructions_path).items()}
        inclusive = read_inclusive_profile(profile_path)
        hit = counts.get("cached_hit_1ns")
        if hit is None or not inclusive:
            self.section("Profile of a memory:// hit", "", "Not measured in this run.")
            return
        operations = 20000

        def per_op(*needles, minus=()):
            """None when a function is not in the profile (renamed since this was written):
            a part is then shown as unknown, not as a negative or a zero."""
            found = [next((v for k, v in inclusive.items() if n in k), None)
                     for n in needles + minus]
            if None in found:
                return None
            return (sum(found[:len(needles)]) - sum(found[len(needles):])) / operations

        parts = [
            ("find the entry by its identity in the sharded store (hash, shard read lock, "
             "expiry check, one generation compare per namespace) and copy the payload into "
             "the value returned (allocation and 512 B copy)", per_op("InProcessStore::find(")),
            ("build the entry's identity (key and namespace names, length-prefixed)",
             per_op("InProcessPath::find_current(", minus=("InProcessStore::find(",))),
            ("the freshness test (`fresh_without_draw`) at the coarse clock's upper bound, "
             "and `read_fresh`'s own code",
             per_op("CacheCore::read_fresh(", minus=("InProcessPath::find_current(",))),
            ("the stats (the thread's own stripe of the hit counter)", per_op("detail::count(")),
            ("`fresh_hit`: the value's optional, and the checks around `read_fresh`",
             per_op("detail::fresh_hit<", minus=("detail::read_fresh(", "detail::count("))),
            ("the TTL's check (`checked_ttl`)", per_op("detail::checked_ttl(")),
            ("moving the value out of `cached` (std::string's move constructor, which "
             "libstdc++ does not inline)",
             per_op("basic_string(std::__cxx11::basic_string<char, std::char_traits<char>, "
                    "std::allocator<char> >&&)")),
            ("freeing the value the benchmark got (a flat map read frees its copy too)",
             per_op("operator delete(void*, unsigned long)")),
        ]
        known = [v for label, v in parts if not label.startswith("of which")]
        rest = None if None in known else hit - sum(known)
        parts.append(("the rest: `cached`'s own code and the benchmark loop", rest))
        rows = [[label, "? (not in this profile)" if value is None else f"{value:,.0f}"]
                for label, value in parts]
        rows.append(["**a `cached` hit, 1 namespace**", f"**{hit:,.0f}**"])
        flat = counts.get("flat_map_find_copy")
        if flat:
            rows.append(["a flat map find + copy of the same 512 B value", f"{flat:,.0f}"])
        self.section(
            "Profile of a memory:// hit",
            "Inclusive instruction counts per `cached` hit from this run's callgrind profile of "
            "`hot_path_profile cached_hit_1ns` (`build/release/bench-results/cached_hit_1ns.profile.txt` "
            "has the full listing). A memory:// Cache reads through its in-process path "
            "(docs/architecture.md): no versioned key, no counter text, no envelope or CRC-32, "
            "no generation hints; the entry is found by (key, namespaces) in one lookup and "
            "holds its namespaces' live generation cells, and a fresh entry is copied "
            "straight into the value returned (`read_fresh`: no `ReadResult`, no `Entry`, no "
            "handle; 1,253 instructions at commit c25c2a5, which had them). Before the "
            "in-process path (commit f26fa0a, byte path "
            "through the Backend API) the same hit ran 4,515 instructions: 1,165 building the "
            "counter and versioned keys, 1,018 checking the envelope (468 of them the CRC-32), "
            "619 in two lookups, 479 parsing the counter and finding its hint. What is left "
            "beyond the map's own lookup and copy is the identity (the map is keyed by the "
            "user's key alone; an entry is keyed by key and namespaces), the shard's read lock "
            "that lets bumps, writes and eviction run beside the readers, the expiry and "
            "freshness checks the map does not make, and the Cache's own control flow.",
            table(["part of a hit", "instructions"], rows),
        )

    def memcached_client(self, instructions_path, results_dir):
        """Client instructions per Memcached read, gencache beside raw libmemcached (callgrind)."""
        counts = read_instruction_counts(instructions_path)

        def libmemcached_share(path):
            """Instructions per operation inside libmemcached's mget and fetch."""
            profile = os.path.join(results_dir, f"{path}.profile.txt")
            if path not in counts or not os.path.exists(profile):
                return None
            inclusive = read_inclusive_profile(profile)
            total = 0
            for fn in ("memcached_mget ", "memcached_fetch_result "):
                total += next((v for name, v in inclusive.items() if name.startswith(fn)), 0)
            return total / counts[path][1]

        rows = []
        for label, raw, ours in (("read of one 512 B value", "memcached_raw_get", "memcached_hit"),
                                 ("read of 100 values", "memcached_raw_mget", "memcached_get_many")):
            if raw not in counts or ours not in counts:
                rows.append([label, "not measured", "", "", ""])
                continue
            share = libmemcached_share(ours)
            rows.append([
                label,
                f"{counts[raw][0]:,.0f}",
                f"{counts[ours][0]:,.0f}",
                f"{share:,.0f}" if share is not None else "?",
                f"{counts[ours][0] / counts[raw][0]:.2f}x",
            ])
        if "memcached_async_read_64" in counts and "memcached_raw_get" in counts:
            ours = counts["memcached_async_read_64"][0]
            rows.append([
                "read of one 512 B value by the asynchronous meta client, 64 in flight on one "
                "connection (the backend's `async_visit_many` of one key, as in meta_bench)",
                f"{counts['memcached_raw_get'][0]:,.0f}",
                f"{ours:,.0f}",
                "none (no libmemcached)",
                f"{ours / counts['memcached_raw_get'][0]:.2f}x",
            ])
        self.section(
            "Client instructions per Memcached read (callgrind)",
            "The client's user-space instructions per read, from `hot_path_profile memcached_*` "
            "under callgrind against a memcached of its own (the kernel's share of each round "
            "trip and the server's work are not counted). Raw libmemcached reads the user's keys "
            "with `memcached_get` / `memcached_mget` and copies the values into strings; "
            "gencache's `cached` hit and `get_many` read the namespace's counter too, under "
            "keys about 30 bytes longer (prefix, escaped namespace and generation), and check "
            "each envelope. The libmemcached column is the part of gencache's count spent "
            "inside libmemcached's mget and fetch: a second key and longer keys cost there "
            "(its reply parser looks at every byte of every key). Profiles: "
            "`build/release/bench-results/memcached_{hit,get_many}.profile.txt`.",
            table(["operation", "raw libmemcached", "gencache", "of which in libmemcached", "gencache / raw"], rows),
        )
        self.get_many_profile(counts, results_dir)

    def get_many_profile(self, counts, results_dir):
        """Where get_many's client instructions go, per entry, beside a raw mget's."""
        profile = os.path.join(results_dir, "memcached_get_many.profile.txt")
        if "memcached_get_many" not in counts or "memcached_raw_mget" not in counts \
                or not os.path.exists(profile):
            return
        inclusive = read_inclusive_profile(profile)
        _, operations = counts["memcached_get_many"]
        entries = 100 * operations

        def per_entry(*prefixes):
            """None when a function is not in the profile, as in hit_profile."""
            found = [next((v for name, v in inclusive.items() if name.startswith(fn)), None)
                     for fn in prefixes]
            return None if None in found else sum(found) / entries

        total = counts["memcached_get_many"][0] / 100
        parts = [
            ("libmemcached: sending the 101 keys and parsing the replies (it checks every byte "
             "of every key)", per_entry("memcached_mget ", "memcached_fetch_result ")),
            ("checking each envelope (header, lengths, CRC-32) and copying its payload out",
             per_entry("gencache::detail::decode_envelope(")),
            ("of which the CRC-32", per_entry("gencache::detail::(anonymous namespace)::crc_update(")),
            ("building the versioned keys (head once, then each key escaped)",
             per_entry("gencache::detail::ReadStep::build_keys(")),
        ]
        known = [v for label, v in parts if not label.startswith("of which")]
        parts.append(("the rest: the batch's vectors, moving each value out, the freshness "
                      "check, freeing", None if None in known else total - sum(known)))
        rows = [[label, "? (not in this profile)" if value is None else f"{value:,.0f}"]
                for label, value in parts]
        rows.append(["**gencache `get_many`, per entry**", f"**{total:,.0f}**"])
        rows.append(["raw `memcached_mget` + fetch of the user's keys, per entry",
                     f"{counts['memcached_raw_mget'][0] / 100:,.0f}"])
        self.section(
            "Profile of get_many on Memcached",
            "Inclusive instruction counts per entry of a `get_many` of 100 "
            "(`hot_path_profile memcached_get_many`). The largest difference from the raw mget "
            "is inside libmemcached itself: the counter's extra key and keys about 30 bytes "
            "longer, which it sends and whose replies it parses byte by byte; the middle row of "
            "section 7 times that part alone. The versioned keys are built into per-thread "
            "buffers that keep their capacity, so no key is allocated per entry; each payload "
            "is one allocation, as the raw read's copy is.",
            table(["part of a get_many, per entry", "instructions"], rows),
        )

    def summary(self):
        rows = []
        for comparison, target, value, met, spread in self.targets:
            if met is None:
                rows.append([comparison, target, value, "", "not measured"])
                continue
            shown = f"{value:,.0f}x" if value >= 100 else f"{value:.2f}"
            noise = f"±{spread * 100:.0f}%" if spread is not None else ""
            rows.append([comparison, target, shown, noise, verdict(met)])
        met = sum(1 for t in self.targets if t[3])
        missed = sum(1 for t in self.targets if t[3] is False)
        unmeasured = sum(1 for t in self.targets if t[3] is None)
        return (f"**{met} targets met, {missed} missed, {unmeasured} not measured.** The spread "
                "column is the root sum of squares of the two measurements' coefficients of "
                "variation across the repetitions: a figure closer to its target than its spread "
                "could land on the other side in the next run on this shared machine.\n\n"
                + table(["comparison", "target", "figure", "spread", ""], rows))


    # Django -------------------------------------------------------------------------------
    def django(self, path):
        """benchmarks/django_bench.py's figures (django.json), when scripts/bench ran it."""
        if not os.path.exists(path):
            self.section("Django: gencache.django against django-redis", "Not run.", "")
            return
        with open(path) as f:
            data = json.load(f)
        rows = [[f"{row['keys']:,}", fmt_time(row["delete_pattern_s"] * 1e9),
                 fmt_time(row["bump_namespace_s"] * 1e9), fmt_ratio(row["ratio"])]
                for row in data["invalidation"]]
        hits = data["hits"]
        hit_rows = [
            ["cached Django view (`cached_api_response`, JsonResponse)",
             fmt_time(hits["gencache_view_hit_s"] * 1e9),
             "hand-written decorator on django-redis `cache.get`",
             fmt_time(hits["django_redis_view_hit_s"] * 1e9),
             f"{hits['gencache_view_hit_s'] / hits['django_redis_view_hit_s']:.2f}"],
            ["`gencache.Cache.get` (a dict)", fmt_time(hits["gencache_get_hit_s"] * 1e9),
             "django-redis `cache.get` (GET + unpickle)",
             fmt_time(hits["django_redis_get_hit_s"] * 1e9),
             f"{hits['gencache_get_hit_s'] / hits['django_redis_get_hit_s']:.2f}"],
        ]
        self.section(
            "Django: gencache.django against django-redis",
            "From Python (`benchmarks/django_bench.py`, Debian's python3, client and Redis on "
            "one core). Debian has no django-redis package, so its `delete_pattern` is written "
            "as django-redis does it with redis-py: `SCAN MATCH :1:user_42_* COUNT "
            f"{data['scan_count']}` (its default itersize), the matches deleted in one pipeline; "
            f"the user has {data['user_entries']} keys, put back untimed after each deletion. "
            "Beside it, `bump_namespace` of the Python module on the same server. Then one "
            "cached hit each way, through a Django function view called with a RequestFactory "
            "request, and the bare reads.",
            table(["keys in Redis", "delete_pattern", "bump_namespace", "speedup"], rows)
            + "\n\n" + table(["gencache", "time", "django-redis", "time", "ratio"], hit_rows),
        )


def appendix(results):
    """Every median of the run, program by program, including benchmarks no comparison uses."""
    out = ["## All medians", "",
           "Every benchmark of the run, as Google Benchmark named it: the median wall-clock "
           "time per iteration and per thread, its coefficient of variation over the "
           "repetitions (how much the machine's load moved it), and the counters.", ""]
    for program in sorted(results.contexts):
        rows = []
        for key in sorted(k for k in set(results.medians) | set(results.errors) if k.startswith(program + ":")):
            name = key[len(program) + 1:]
            if key in results.errors:
                rows.append([f"`{name}`", f"error: {results.errors[key]}", "", ""])
                continue
            run = results.medians[key]
            skip = {"name", "family_index", "per_family_instance_index", "run_name", "run_type", "repetitions",
                    "threads", "aggregate_name", "aggregate_unit", "iterations", "real_time", "cpu_time", "time_unit"}
            counters = ", ".join(f"{k} {v:,.0f}" if abs(v) >= 1000 else f"{k} {v:.4g}"
                                 for k, v in sorted(run.items()) if k not in skip and isinstance(v, (int, float)))
            cv = results.cvs.get(key)
            rows.append([f"`{name}`", fmt_time(results.ns(key)), f"{cv * 100:.1f}%" if cv is not None else "",
                         counters])
        out += [f"### {program}", "", table(["benchmark", "median time", "cv", "counters"], rows), ""]
    return "\n".join(out)


def read_instruction_counts(path):
    """{path: (instructions per operation, operations)} from scripts/bench's instructions.txt."""
    counts = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 3 and parts[2].isdigit():
                    counts[parts[0]] = (int(parts[2]) / int(parts[1]), int(parts[1]))
    return counts


def read_inclusive_profile(path):
    """{function: inclusive instructions} from `callgrind_annotate --inclusive=yes` output;
    a function listed twice keeps its first (largest) count."""
    inclusive = {}
    if os.path.exists(path):
        pattern = re.compile(r"^\s*([\d,]+) \([ \d.]+%\)\s+\S*?:(.*)$")
        with open(path) as f:
            for line in f:
                m = pattern.match(line)
                if m:
                    inclusive.setdefault(m.group(2), int(m.group(1).replace(",", "")))
    return inclusive


def machine_section(machine, results):
    lines = [
        f"- Date: {machine.get('date', '?')}; commit {machine.get('commit', '?')}",
        f"- CPU: {machine.get('cpu', '?')}, {machine.get('cores', '?')} cores; {machine.get('memory', '?')} RAM; kernel {machine.get('kernel', '?')}",
        f"- Compiler: {machine.get('compiler', '?')}; CMake preset `release` ({machine.get('build_type', 'Release')})",
        f"- Servers (loopback, started by the benchmark programs): {machine.get('memcached', '?')} "
        f"(`-t 1 -m 1024`), {machine.get('redis', '?')} (persistence off); "
        f"{machine.get('pinning', 'client and server not pinned')}",
        f"- Clients: libmemcached {machine.get('libmemcached', '?')}, hiredis {machine.get('hiredis', '?')}, "
        f"Google Benchmark {machine.get('benchmark', '?')}",
        f"- Load average (1 min) before / after the run: {machine.get('load_before', '?')} / {machine.get('load_after', '?')}",
        f"- Command: `{machine.get('command', 'scripts/bench')}`; benchmarks ran for {machine.get('bench_seconds', '?')} s",
    ]
    build_types = sorted({c.get("library_build_type", "?") for c in results.contexts.values()})
    if "debug" in build_types:
        lines.append("- Debian's Google Benchmark library reports itself as a debug build; it only "
                     "times the loops, the code measured is built with -O3.")
    return "\n".join(lines)


def write_chart(results, path):
    """invalidation.svg: time per invalidation against keys cached, log-log."""
    series = [
        ("pattern deletion, Redis SCAN + DEL", "pattern_delete_bench:BM_RedisDeletePattern/keys:{}"),
        ("gencache bump_namespace, Redis", "pattern_delete_bench:BM_RedisBumpNamespace/keys:{}"),
        ("gencache bump_namespace, Memcached", "memcached_bench:BM_BumpNamespace/entries:{}"),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        plots = []
        for index, (title, pattern) in enumerate(series):
            points = []
            for size in SIZES:
                try:
                    points.append((size, results.ns(pattern.format(size)) / 1e3))
                except Missing:
                    pass
            if not points:
                continue
            data = os.path.join(tmp, f"series{index}.dat")
            with open(data, "w") as f:
                f.writelines(f"{x} {y}\n" for x, y in points)
            plots.append(f"'{data}' using 1:2 with linespoints title \"{title}\" noenhanced")
        if not plots:
            print("report.py: no invalidation figures, chart not written", file=sys.stderr)
            return
        script = "\n".join([
            "set terminal svg size 720,440 dynamic font 'sans,12' background '#ffffff'",
            f"set output '{os.path.abspath(path)}'",
            "set logscale xy",
            "set title \"Invalidating one user's 100 entries\" noenhanced",
            "set xlabel 'keys cached'",
            "set ylabel 'time per invalidation (µs)'",
            "set format x '10^{%L}'",
            "set format y '10^{%L}'",
            "set xrange [5000:2000000]",
            "set grid",
            "set key top left Left reverse",
            "plot " + ", ".join(plots),
        ])
        subprocess.run(["gnuplot"], input=script, text=True, check=True)


def update_readme(path, headline):
    """Rewrites the figures between <!-- bench:begin --> and <!-- bench:end -->."""
    with open(path) as f:
        text = f.read()
    begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
    if begin not in text or end not in text:
        return
    lines = []
    if "run" in headline:
        lines.append(f"In the last run ({headline['run']}; {headline['targets']}):")
        lines.append("")
    if "read_ratio" in headline:
        line = (f"- A cached read from Memcached took {headline['read_ratio']:.2f}x the time of a raw "
                "`memcached_get` of the same value")
        if "naive_speedup" in headline:
            line += f", and was {headline['naive_speedup']:.1f}x faster than the two-round-trip scheme"
        lines.append(line + ".")
    if "pattern_speedup" in headline:
        lines.append(f"- With 10^6 keys in Redis, invalidating one user's 100 entries by pattern deletion "
                     f"took {headline['pattern_ms']:,.0f} ms; `bump_namespace` took {headline['bump_us']:,.0f} µs, "
                     f"{headline['pattern_speedup']:,.0f}x less.")
    if "hit_instructions" in headline:
        lines.append(f"- A memory:// `cached` hit ran {headline['hit_instructions']:,.0f} instructions.")
    if "bytes_per_entry" in headline:
        lines.append(f"- The memory backend spent {headline['bytes_per_entry']:.0f} bytes per entry beyond key and value.")
    body = "\n".join(lines) if lines else "(no figures in the last run)"
    block = begin + "\n" + body + "\n" + end
    text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    with open(path, "w") as f:
        f.write(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", help="directory with <program>.json files and machine.json")
    parser.add_argument("--markdown", default="benchmarks/RESULTS.md")
    parser.add_argument("--chart", default="benchmarks/invalidation.svg")
    parser.add_argument("--readme", help="README.md whose bench markers get the headline figures")
    args = parser.parse_args()

    results = Results(args.results)
    machine_path = os.path.join(args.results, "machine.json")
    machine = json.load(open(machine_path)) if os.path.exists(machine_path) else {}

    report = Report(results, machine)
    report.memcached_reads()
    report.naive()
    report.memcached_bump()
    report.pattern_delete()
    report.in_process()
    report.wrapper()
    report.batch()
    report.memory()
    report.async_hit()
    report.demo_servers(os.path.join(args.results, "demo_servers.txt"))
    report.meta_client()
    report.redis_scale()
    report.instructions(os.path.join(args.results, "instructions.txt"))
    report.hit_profile(os.path.join(args.results, "instructions.txt"),
                       os.path.join(args.results, "cached_hit_1ns.profile.txt"))
    report.memcached_client(os.path.join(args.results, "instructions.txt"), args.results)
    report.django(os.path.join(args.results, "django.json"))

    out = [
        "# Benchmark results",
        "",
        "Written by `scripts/bench` (through `benchmarks/report.py`) from the run described "
        "below; do not edit by hand. Every figure is the median of "
        f"{machine.get('repetitions', 5)} repetitions of a Google Benchmark run "
        f"({machine.get('in_process_repetitions', machine.get('repetitions', 5))} for the in-process "
        "programs, cache_bench and memory_backend_bench), in wall-clock time per operation; "
        "ratios divide medians of the same run.",
        "",
        "## Machine",
        "",
        machine_section(machine, results),
        "",
        "## Targets",
        "",
        report.summary(),
        "",
    ]
    out += report.sections
    out.append(appendix(results))
    with open(args.markdown, "w") as f:
        f.write("\n".join(out))
    write_chart(results, args.chart)
    if args.readme:
        met = sum(1 for t in report.targets if t[3])
        report.headline["run"] = f"{machine.get('date', '?')}, {machine.get('cores', '?')} cores"
        report.headline["targets"] = (f"{met} of {len(report.targets)} targets met, "
                                      "see [RESULTS.md](benchmarks/RESULTS.md)")
        update_readme(args.readme, report.headline)


if __name__ == "__main__":
    main()
