"""TLS group probing speed on loopback.

1. All groups of one endpoint with the single-group ClientHello probes (HelloRetryRequest tells
   support) against the baseline most scanners use: one full pyOpenSSL handshake per group.
   Target: under 50 ms for all groups, at least 3x faster than the baseline.
2. 200 loopback endpoints probed with bounded concurrency. Target: under 10 s.

    python -m benchmarks.bench_tls_probe [--repeat 20] [--endpoints 200]

Servers run in a separate process (OpenSSL 4 via pyOpenSSL, hybrid ML-KEM on), so the probe side
is what is measured; traffic goes to 127.0.0.1 only and everything stops by itself.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import socket
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from OpenSSL import SSL
from OpenSSL._util import lib as _openssl

from checks.egress import EgressPolicy, Target
from checks.tls.check import group_verdicts, plan
from checks.tls.probes import GroupProbe, run_probes
from kernel.errors import AssureError
from pq_crypto.catalogue import algorithm_index

LOOPBACK = EgressPolicy.loopback_only()


def _serve(ports: multiprocessing.Queue, count: int, folder: str, seconds: float) -> None:
    from tests.peers import servers
    from tests.peers.certificates import make_certificate

    cert, key = make_certificate(Path(folder), "ecdsa")
    running = [servers.LoopbackServer(servers.pyopenssl_handler(cert, key)) for _ in range(count)]
    for server in running:
        server.__enter__()
        ports.put(server.port)
    time.sleep(seconds)
    for server in running:
        server.__exit__(None, None, None)


def _baseline(target: Target, group_name: str) -> bool:
    context = SSL.Context(SSL.TLS_CLIENT_METHOD)
    if _openssl.SSL_CTX_set1_curves_list(context._context, group_name.encode()) != 1:
        raise ValueError(f"OpenSSL does not know the group {group_name}")
    with socket.create_connection((target.address, target.port), timeout=5) as sock:
        sock.setblocking(True)  # pyOpenSSL cannot drive a socket that has a timeout
        connection = SSL.Connection(context, sock)
        connection.set_connect_state()
        try:
            connection.do_handshake()
            return True
        except SSL.Error:
            return False


# OpenSSL's own names for the groups, where they differ from the catalogue's ids.
OPENSSL_NAMES = {
    "ECDH-P256": "secp256r1",
    "ECDH-P384": "secp384r1",
    "ECDH-P521": "secp521r1",
    "FFDHE-2048": "ffdhe2048",
    "FFDHE-3072": "ffdhe3072",
    "FFDHE-4096": "ffdhe4096",
    "ML-KEM-512": "MLKEM512",
    "ML-KEM-768": "MLKEM768",
    "ML-KEM-1024": "MLKEM1024",
}


def _probe_all(targets: list[Target], concurrency: int) -> int:
    """Every endpoint's probes, `concurrency` endpoints at a time; how many could not be probed
    (an egress refusal or bad address is the endpoint's own failure, not the run's)."""

    def probe(target: Target) -> bool:
        try:
            run_probes(plan(), target)
        except AssureError:
            return False
        return True

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        return sum(not ok for ok in pool.map(probe, targets))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--endpoints", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    queue: multiprocessing.Queue = multiprocessing.Queue()
    folder = tempfile.mkdtemp()
    server = multiprocessing.Process(
        target=_serve, args=(queue, args.endpoints, folder, 120), daemon=True
    )
    server.start()
    ports = [queue.get(timeout=30) for _ in range(args.endpoints)]
    targets = [LOOPBACK.resolve("127.0.0.1", port) for port in ports]
    groups = [p for p in plan() if isinstance(p, GroupProbe)]
    names = {g: algorithm_index().tls_group(g.group).algorithm_id or "" for g in groups}
    # The pre-standard Kyber draft is unknown to OpenSSL 4, so the baseline cannot test it.
    comparable = [g for g in groups if names[g] != "X25519Kyber768Draft00"]

    run_probes(groups, targets[0])  # warm up
    probe_times, baseline_times = [], []
    answers: dict = {}
    baseline: dict = {}
    for _ in range(args.repeat):
        started = time.perf_counter()
        answers = run_probes(groups, targets[0])
        probe_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        # Same parallelism as the probes, so the comparison is of methods, not of threads.
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = pool.map(
                lambda g: _baseline(targets[0], OPENSSL_NAMES.get(names[g], names[g])), comparable
            )
            baseline = dict(zip(comparable, results, strict=True))
        baseline_times.append(time.perf_counter() - started)
    probed = {v.code: v.supported for v in group_verdicts(answers)}
    agreement = sum(probed[g.group] == ok for g, ok in baseline.items())

    started = time.perf_counter()
    failed = _probe_all(targets, args.concurrency)
    many_seconds = time.perf_counter() - started
    server.terminate()

    probe_ms = statistics.median(probe_times) * 1000
    baseline_ms = statistics.median(baseline_times) * 1000
    print(
        json.dumps(
            {
                "benchmark": "tls_group_probe",
                "groups_probed": len(groups),
                "groups_supported": sorted(names[g] for g in groups if probed[g.group]),
                "probe_all_groups_ms_median": round(probe_ms, 2),
                "baseline_full_handshake_per_group_ms_median": round(baseline_ms, 2),
                "ratio_baseline_over_probe": round(baseline_ms / probe_ms, 2),
                "agreement_with_baseline": f"{agreement}/{len(comparable)}",
                "endpoints": len(targets),
                "endpoint_probes_each": len(plan()),
                "endpoints_seconds": round(many_seconds, 2),
                "endpoints_failed": failed,
                "targets": {"all_groups_ms": 50, "ratio": 3, "endpoints_seconds": 10},
                "meets_targets": probe_ms < 50
                and baseline_ms / probe_ms >= 3
                and many_seconds < 10,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
