"""One product's score, explained, on estates of 10,000 and 50,000 suppliers: in-process (the
service the app and `assure score --entity` call) and over HTTP (`GET /v1/products/{id}/score`
on a real API process on loopback).

Targets (issue 20): under 30 ms in-process and under 60 ms p50 over HTTP at 10,000 suppliers,
and at 50,000 within 1.5x of 10,000 (per-subject work must not grow with the estate). The
same-run baseline over HTTP is `GET /v1/products/{id}` (token check, tenancy check, one row) on
the same server, so the score's own cost reads as the difference.

    python -m benchmarks.bench_subject_score [--sizes 10000 50000] [--seconds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from benchmarks.bench_api import AS_OF, Client, _load, _seed
from kernel.settings import load_settings
from posture.scoring.service import explain_entity
from posture.storage.engine import build_engine, session_factory
from tests.peers.processes import free_port, serving

TARGET_IN_PROCESS_MS = 30.0
TARGET_HTTP_P50_MS = 60.0
TARGET_GROWTH = 1.5


def _in_process(folder: Path, world: list[Client], rounds: int) -> dict[str, float]:
    engine = build_engine(load_settings({"ASSURE_DATA_DIR": str(folder)}))
    sessions = session_factory(engine)
    timings = []
    for round_index in range(rounds):
        for client in world:
            with sessions() as session:
                started = time.perf_counter()
                explained = explain_entity(session, f"product:{client.product_id}", AS_OF)
                elapsed = time.perf_counter() - started
            if round_index:  # the first round warms imports and the framework tables
                timings.append(elapsed)
            assert explained["subject"] == f"product:{client.product_id}"
    engine.dispose()
    return {
        "median_ms": round(statistics.median(timings) * 1000, 2),
        "max_ms": round(max(timings) * 1000, 2),
        "samples": len(timings),
    }


def _over_http(folder: Path, world: list[Client], seconds: float) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSURE_")}
    env |= {"ASSURE_DATA_DIR": str(folder), "ASSURE_API_RATE_LIMIT": "100000000/minute"}
    port = free_port()
    argv = [sys.executable, "-m", "benchmarks.bench_api", "--serve", str(port)]
    argv += ["--token-cache-capacity", "4096"]
    with serving(argv, env, f"http://127.0.0.1:{port}/openapi.json"):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/framework").close()

        def score(index: int, _: int) -> tuple[str, str, bytes | None, dict[str, str]]:
            me = world[index % len(world)]
            headers = {"Authorization": me.authorization}
            return "GET", f"/v1/products/{me.product_id}/score", None, headers

        def read(index: int, _: int) -> tuple[str, str, bytes | None, dict[str, str]]:
            me = world[index % len(world)]
            headers = {"Authorization": me.authorization}
            return "GET", f"/v1/products/{me.product_id}", None, headers

        _load(port, score, 1, 1.0)
        # One client at a time: the target is a latency, not a throughput.
        return {
            "score": _load(port, score, 1, seconds),
            "baseline_read": _load(port, read, 1, seconds),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    runs = []
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            world = _seed(Path(folder), None, size, 16)
            seeded = time.perf_counter() - started
            runs.append(
                {
                    "suppliers": size,
                    "seed_seconds": round(seeded, 1),
                    "in_process": _in_process(Path(folder), world, args.rounds),
                    "http": _over_http(Path(folder), world, args.seconds),
                }
            )
    first = runs[0]
    checks: dict[str, bool] = {
        "in_process_ms": first["in_process"]["median_ms"] < TARGET_IN_PROCESS_MS,
        "http_p50_ms": first["http"]["score"]["p50_ms"] < TARGET_HTTP_P50_MS,
    }
    growth = {}
    if len(runs) > 1:
        last = runs[-1]
        growth = {
            "in_process": round(
                last["in_process"]["median_ms"] / first["in_process"]["median_ms"], 2
            ),
            "http_p50": round(
                last["http"]["score"]["p50_ms"] / first["http"]["score"]["p50_ms"], 2
            ),
        }
        checks["growth"] = max(growth.values()) <= TARGET_GROWTH
    report = {
        "benchmark": "subject_score",
        "runs": runs,
        "growth_largest_over_smallest": growth,
        "targets": {
            "in_process_ms": TARGET_IN_PROCESS_MS,
            "http_p50_ms": TARGET_HTTP_P50_MS,
            "growth": TARGET_GROWTH,
        },
        "met": checks,
        "meets_targets": all(checks.values()),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
