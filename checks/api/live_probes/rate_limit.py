"""429 behaviour (API4, unrestricted resource consumption): a short burst to one cheap GET, never
faster than the user's rate limit. An API that neither answers 429 nor announces a limit in its
headers gives a client no way to know it is being throttled, or shows it is not."""

from __future__ import annotations

from checks.api.live_probes.context import ProbeContext, Probed, outcome
from checks.findings import finding

PROBE = "rate_limit"


def burst_size(ctx: ProbeContext) -> int:
    """As many requests as the book asks for, as fit in its window at the user's rate."""
    book = ctx.book.rate_limit
    if ctx.client.per_second is None:
        return book.burst
    return min(book.burst, int(ctx.client.per_second * book.within_seconds))


def probe(ctx: ProbeContext) -> Probed:
    target = ctx.cheap_get()
    if target is None:
        return [], outcome(PROBE, skipped="no GET operation with nothing to fill in")
    path, with_identity = target
    operation, url = f"GET {path}", ctx.url(path)
    size = burst_size(ctx)
    if size < ctx.book.rate_limit.minimum_burst:
        why = (
            f"the rate limit setting allows {size} requests in "
            f"{ctx.book.rate_limit.within_seconds:g}s, fewer than the "
            f"{ctx.book.rate_limit.minimum_burst} a burst needs"
        )
        return [], outcome(PROBE, operation=operation, skipped=why)
    announcing = {name.lower() for name in ctx.book.rate_limit.headers}
    statuses: dict[str, int] = {}
    announced: set[str] = set()
    sent = 0
    last = None
    headers = ctx.auth() if with_identity else {}
    for _ in range(size):
        answer = ctx.client.send("GET", url, headers, note="identity token")
        sent += 1
        if answer is None:
            continue
        last = answer
        statuses[str(answer.status)] = statuses.get(str(answer.status), 0) + 1
        announced |= announcing & set(answer.response_headers)
        if answer.status == 429:
            break  # the API said stop: the probe has what it came for
    notes = (f"statuses: {statuses}",)
    if last is None:
        return [], outcome(PROBE, operation=operation, skipped="no answer")
    if not any(code.startswith("2") for code in statuses) and "429" not in statuses:
        why = f"the operation answered no 2xx ({statuses}): a burst of errors shows nothing"
        return [], outcome(PROBE, operation=operation, skipped=why)
    if "429" in statuses or announced:
        notes += (f"limited: {'429' in statuses}; headers: {sorted(announced)}",)
        return [], outcome(PROBE, ran=True, operation=operation, notes=notes)
    evidence = {**last.evidence(), "burst": sent, "statuses": statuses, "operation": operation}
    return [finding("API-PROBE-008", **evidence)], outcome(
        PROBE, ran=True, operation=operation, notes=notes
    )
