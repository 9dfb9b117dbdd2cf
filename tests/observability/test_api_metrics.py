"""/metrics on the partner API served for real on loopback: what it counts, under which labels,
and who may read it."""

from __future__ import annotations

import http.client
import random
import string
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.observability.conftest import get, samples, scrape, series, value
from tests.partner_api.live import serving_api
from tests.partner_api.world import ApiWorld

REQUESTS = "assure_http_requests_total"
LATENCY_COUNT = "assure_http_request_duration_seconds_count"


def _send(port: int, paths: list[str], headers: dict[str, str] | None = None) -> list[int]:
    """GET each path on one keep-alive connection; the statuses, in order."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    statuses = []
    try:
        for path in paths:
            connection.request("GET", path, headers=headers or {})
            response = connection.getresponse()
            response.read()
            statuses.append(response.status)
    finally:
        connection.close()
    return statuses


def test_requests_are_counted_by_route_template_and_status(
    api_template: tuple[Path, ApiWorld], tmp_path: Path
) -> None:
    template, world = api_template
    product_id = world.world.orgs["s1"].product_id
    bearer = {"Authorization": f"Bearer {world.tokens['s1']}"}
    with serving_api(template, tmp_path / "data") as api:
        assert _send(api.port, ["/v1/framework"] * 7) == [200] * 7
        assert _send(api.port, [f"/v1/products/{product_id}"] * 5, bearer) == [200] * 5
        # Someone else's or no product: 404 under the same template, not under the raw path.
        assert _send(api.port, ["/v1/products/999999", "/v1/products/888888"], bearer) == [404] * 2
        assert _send(api.port, [f"/v1/products/{product_id}"] * 3) == [401] * 3
        scraped = scrape(api.url)

    def count(route: str, status: str) -> float | None:
        return value(scraped, REQUESTS, method="GET", route=route, status=status)

    assert count("/v1/framework", "200") == 7
    assert count("/v1/products/{product_id}", "200") == 5
    assert count("/v1/products/{product_id}", "404") == 2
    assert count("/v1/products/{product_id}", "401") == 3
    latency = value(
        scraped, LATENCY_COUNT, method="GET", route="/v1/products/{product_id}", status="200"
    )
    assert latency == 5
    # Templates only: no series for /v1/products/999999 or the product's own id.
    routes = {labels["route"] for labels in series(scraped, REQUESTS)}
    assert routes == {"/v1/framework", "/v1/products/{product_id}"}


def test_a_thousand_made_up_paths_are_one_unmatched_label(
    api_template: tuple[Path, ApiWorld], tmp_path: Path
) -> None:
    template, _ = api_template
    rng = random.Random(28)  # noqa: S311 (made-up paths, not secrets)
    paths = [
        "/" + "/".join("".join(rng.choices(string.ascii_lowercase, k=8)) for _ in range(3))
        for _ in range(1000)
    ]
    with serving_api(template, tmp_path / "data") as api:
        assert set(_send(api.port, paths)) == {404}
        # HEAD and an unknown method on a made-up path land on the same label and method set.
        connection = http.client.HTTPConnection("127.0.0.1", api.port, timeout=30)
        connection.request("BREW", "/coffee-pot")
        connection.getresponse().read()
        connection.close()
        scraped = scrape(api.url)
    assert value(scraped, REQUESTS, method="GET", route="unmatched", status="404") == 1000
    labels = series(scraped, REQUESTS)
    assert {entry["route"] for entry in labels} <= {"unmatched", "/metrics"}
    assert {entry["method"] for entry in labels} <= {"GET", "other"}
    # A thousand paths, a handful of series: the exposition stays small.
    assert len(labels) <= 4, labels


def test_metrics_are_not_served_to_an_address_outside_metrics_allow(
    api_template: tuple[Path, ApiWorld], tmp_path: Path
) -> None:
    template, _ = api_template
    settings = {"metrics_allow": "10.0.0.0/8,2001:db8::/32"}
    with serving_api(template, tmp_path / "data", settings) as api:
        status, headers, body = get(f"{api.url}/metrics")
        unknown_status, _, unknown_body = get(f"{api.url}/no-such-thing")
        live, live_headers, _ = get(f"{api.url}/livez")
    assert status == 404
    # Told apart from no endpoint at all by nothing.
    assert (status, body) == (unknown_status, unknown_body)
    assert b"assure_" not in body
    assert headers["x-content-type-options"] == "nosniff"
    assert live == 200
    assert live_headers["content-security-policy"].startswith("default-src 'none'")


def test_metrics_are_not_served_through_a_reverse_proxy_on_the_same_host(
    api_template: tuple[Path, ApiWorld], tmp_path: Path
) -> None:
    """nginx and Caddy as shipped relay the API's whole host from 127.0.0.1: a relayed request
    comes from an allowed address, and only the proxy's headers tell it apart."""
    template, _ = api_template
    with serving_api(template, tmp_path / "data") as api:
        direct = get(f"{api.url}/metrics")[0]
        relayed = [
            get(f"{api.url}/metrics", {name: "203.0.113.9"})[0]
            for name in ("X-Forwarded-For", "Forwarded", "X-Real-IP", "x-forwarded-for")
        ]
    assert direct == 200
    assert relayed == [404] * 4


def test_probes_and_metrics_are_never_rate_limited_and_keep_the_security_headers(
    api_template: tuple[Path, ApiWorld], tmp_path: Path
) -> None:
    template, _ = api_template
    with serving_api(template, tmp_path / "data", {"api_rate_limit": "3/minute"}) as api:
        limited = _send(api.port, ["/v1/framework"] * 40)
        probes = _send(api.port, ["/livez", "/readyz", "/metrics"] * 15)
        answers = [get(f"{api.url}{path}") for path in ("/livez", "/readyz", "/metrics")]
        document = get(f"{api.url}/openapi.json")[2].decode()
    assert 429 in limited
    assert set(probes) == {200}
    for status, headers, _ in answers:
        assert status == 200
        assert headers["x-frame-options"] == "DENY"
        assert headers["cache-control"] == "no-store"
        assert "ratelimit-limit" not in headers
    # Operator endpoints are not partner operations.
    for path in ("/livez", "/readyz", "/metrics"):
        assert f'"{path}"' not in document


def test_twenty_scrapes_at_once_while_requests_run_all_answer_and_count_every_request(
    api_template: tuple[Path, ApiWorld], tmp_path: Path
) -> None:
    template, _ = api_template
    with serving_api(template, tmp_path / "data") as api:
        stop = threading.Event()
        sent = [0] * 4

        def load(index: int) -> None:
            while not stop.is_set():
                _send(api.port, ["/v1/framework"] * 10)
                sent[index] += 10

        loaders = [threading.Thread(target=load, args=(i,)) for i in range(4)]
        for loader in loaders:
            loader.start()
        try:
            with ThreadPoolExecutor(20) as pool:
                scrapes = list(pool.map(lambda _: get(f"{api.url}/metrics"), range(20)))
        finally:
            stop.set()
            for loader in loaders:
                loader.join()
        final = scrape(api.url)
    assert [status for status, _, _ in scrapes] == [200] * 20
    for _, _, body in scrapes:
        parsed = samples(body.decode())  # each one a complete, well-formed exposition
        assert value(parsed, "assure_scrape_error") == 0
    assert value(final, REQUESTS, method="GET", route="/v1/framework", status="200") == sum(sent)
    assert value(final, REQUESTS, method="GET", route="/metrics", status="200") == 20
