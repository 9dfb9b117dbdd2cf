"""Partner API throughput and latency with 16 concurrent clients on loopback.

A real `assure api` (uvicorn, one process) serves the multi-tenant test world; 16 client threads,
each on its own keep-alive connection, send requests for a fixed time:

- read:  GET /v1/products/{id} as a supplier (token check, tenancy check, one row);
- write: POST /v1/products as a supplier (validation, insert, audit event, commit).

Reported per database (SQLite, and PostgreSQL when it answers on 127.0.0.1:5432): requests per
second, p50 and p99 latency, and errors. The baseline, in the same run, is GET /v1/framework
answered 304 from its ETag: the server and client cost of a request with no database work, so
the ratios say what the database and the services add. The rate limit is raised for the run.

    python -m benchmarks.bench_api [--seconds 10] [--clients 16] [--sqlite-only]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.partner_api.world import prepare
from tests.peers.processes import free_port, serving

POSTGRES_URL = os.environ.get(
    "ASSURE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
Request = Callable[[int], tuple[str, str, bytes | None, dict[str, str]]]


def _load(port: int, request: Request, clients: int, seconds: float) -> dict[str, float]:
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    stop = time.perf_counter() + seconds

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        sequence = 0
        while time.perf_counter() < stop:
            method, path, body, headers = request(index * 1_000_000 + sequence)
            sequence += 1
            started = time.perf_counter()
            try:
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                # Counted, then a fresh connection: one dropped connection must not end a client.
                errors[index] += 1
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            latencies[index].append(time.perf_counter() - started)
            if response.status >= 400:
                errors[index] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    every = sorted(x for per in latencies for x in per)
    if not every:
        return {"requests": 0, "requests_per_second": 0.0, "errors": sum(errors)}
    return {
        "requests": len(every),
        "requests_per_second": round(len(every) / elapsed, 1),
        "p50_ms": round(statistics.median(every) * 1000, 2),
        "p99_ms": round(every[min(len(every) - 1, int(len(every) * 0.99))] * 1000, 2),
        "errors": sum(errors),
    }


def _run(backend: str, database_url: str | None, clients: int, seconds: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        prepared = prepare(Path(folder), database_url)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASSURE_")}
        env |= {"ASSURE_DATA_DIR": folder, "ASSURE_API_RATE_LIMIT": "100000000/minute"}
        if database_url:
            env["ASSURE_DATABASE_URL"] = database_url
        port = free_port()
        argv = [sys.executable, "-m", "assure_cli.main", "api", "--port", str(port)]
        with serving(argv, env, f"http://127.0.0.1:{port}/openapi.json"):
            auth = {"Authorization": f"Bearer {prepared.tokens['s1']}"}
            s1 = prepared.world.orgs["s1"]
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/framework") as first:
                etag = first.headers["ETag"]

            def baseline(_: int) -> tuple[str, str, bytes | None, dict[str, str]]:
                return "GET", "/v1/framework", None, {"If-None-Match": etag}

            def read(_: int) -> tuple[str, str, bytes | None, dict[str, str]]:
                return "GET", f"/v1/products/{s1.product_id}", None, auth

            def write(n: int) -> tuple[str, str, bytes | None, dict[str, str]]:
                body = {
                    "organisation_id": s1.organisation_id,
                    "name": f"Bench product {n}",
                    "category": "other",
                    "deployment_model": "saas",
                }
                headers = {**auth, "Content-Type": "application/json"}
                return "POST", "/v1/products", json.dumps(body).encode(), headers

            _load(port, read, clients, 1.0)  # warm the server's imports, caches and pools
            results = {
                "baseline_304": _load(port, baseline, clients, seconds),
                "read": _load(port, read, clients, seconds),
                "write": _load(port, write, clients, seconds),
            }
    base = results["baseline_304"]["requests_per_second"] or 1.0
    return {
        "backend": backend,
        **results,
        "read_ratio_vs_baseline": round(results["read"]["requests_per_second"] / base, 3),
        "write_ratio_vs_baseline": round(results["write"]["requests_per_second"] / base, 3),
    }


def _postgres_schema() -> tuple[str, Callable[[], None]] | None:
    try:
        admin = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 2})
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        print(f"PostgreSQL skipped: {type(exc).__name__}: {exc}", file=sys.stderr)
        return None

    def drop() -> None:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    separator = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}", drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    runs = [_run("sqlite", None, args.clients, args.seconds)]
    postgres = None if args.sqlite_only else _postgres_schema()
    if postgres is not None:
        url, drop = postgres
        try:
            runs.append(_run("postgresql", url, args.clients, args.seconds))
        finally:
            drop()
    print(
        json.dumps(
            {
                "benchmark": "partner_api",
                "clients": args.clients,
                "seconds": args.seconds,
                "runs": runs,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
