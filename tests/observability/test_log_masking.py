"""What the log formatters mask, whoever wrote the line: credentials in extra fields' values,
URL user-info, Basic credentials, credential-named query parameters, and tracebacks carrying
any of them (a worker's check that failed on a supplier URL); and the text format keeps one
record on one line whatever control characters a message holds."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator

import pytest

from kernel.logs import JsonFormatter, TextFormatter

SECRET = "s3cr3t-value-9f8e"
BASIC = "YWxpY2U6czNjcjN0LXZhbHVlLTlmOGU="  # base64 of "alice:" + SECRET
FORMATTERS = {"json": JsonFormatter, "text": TextFormatter}


@pytest.fixture(params=sorted(FORMATTERS))
def written(request: pytest.FixtureRequest) -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A real logger whose lines go through one of the formatters into a buffer."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(FORMATTERS[request.param]())
    logger = logging.getLogger(f"assure.test.masking.{request.param}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield logger, buffer
    logger.removeHandler(handler)


CREDENTIAL_FORMS = {
    "database url": f"postgresql+psycopg://assure:{SECRET}@db.internal:5432/assure",
    "redis url": f"redis://:{SECRET}@127.0.0.1:6379/0",
    "unencoded @ in a url password": f"postgresql://u:{SECRET}@x@db:5432/a",
    "basic header": f"Authorization: Basic {BASIC}",
    "token query": f"https://supplier.example/api?token={SECRET}&page=2",
    "api_key query": f"https://supplier.example/api?page=2&api_key={SECRET}",
    "access_token query": f"GET /cb?access_token={SECRET}",
    "password parameter": f"host=db user=assure password={SECRET} sslmode=require",
    "quoted password parameter": f"host=db password='{SECRET} x' user=assure",
    "password in a dict repr": f"{{'user': 'alice', 'password': '{SECRET}'}}",
    "bearer": f"Bearer {SECRET}",
}


@pytest.mark.parametrize("form", sorted(CREDENTIAL_FORMS))
def test_a_credential_in_a_message_is_masked(
    written: tuple[logging.Logger, io.StringIO], form: str
) -> None:
    logger, buffer = written
    logger.info("connecting with %s", CREDENTIAL_FORMS[form])
    line = buffer.getvalue()
    assert SECRET not in line
    assert "[redacted]" in line
    assert "connecting with" in line


@pytest.mark.parametrize("form", sorted(CREDENTIAL_FORMS))
def test_a_credential_in_an_extra_field_value_is_masked(
    written: tuple[logging.Logger, io.StringIO], form: str
) -> None:
    logger, buffer = written
    logger.info(
        "upstream refused",
        extra={
            "detail": CREDENTIAL_FORMS[form],
            "attempts": [{"url": CREDENTIAL_FORMS[form]}, 3],
            "route": "/v1/products/{product_id}",
        },
    )
    line = buffer.getvalue()
    assert SECRET not in line
    assert "/v1/products/{product_id}" in line  # the rest of the line is untouched


def test_a_bearer_token_in_an_extra_field_is_masked_and_other_fields_keep_their_type(
    written: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, buffer = written
    logger.info("refused", extra={"detail": f"Bearer {SECRET}", "status": 401})
    line = buffer.getvalue()
    assert SECRET not in line
    if line.startswith("{"):
        record = json.loads(line)
        assert record["detail"] == "[redacted]"
        assert record["status"] == 401  # numbers stay numbers


def test_a_worker_traceback_carrying_a_supplier_url_is_masked(
    written: tuple[logging.Logger, io.StringIO],
) -> None:
    """As posture/jobs/checks.py logs a check that stopped with an internal error: the
    exception's text, and its cause's, name the supplier's URL with its query string."""
    logger, buffer = written
    try:
        try:
            raise ConnectionError(f"refused by https://ops:{SECRET}@supplier.example/health")
        except ConnectionError as cause:
            raise RuntimeError(
                f"check of https://supplier.example/v1?api_key={SECRET}&sig={SECRET} failed"
            ) from cause
    except RuntimeError:
        logger.exception("check job %d stopped with an internal error", 7)
    line = buffer.getvalue()
    assert SECRET not in line
    assert "RuntimeError" in line
    assert "ConnectionError" in line
    assert "supplier.example" in line
    assert len(line.strip().splitlines()) == 1  # the traceback stays inside its record


def test_ordinary_words_and_urls_are_left_as_they_are() -> None:
    record = logging.LogRecord(
        "assure.test",
        logging.INFO,
        __file__,
        1,
        "basic checks passed for https://supplier.example/docs?page=2#top, mail bob@example.uk",
        (),
        None,
    )
    message = json.loads(JsonFormatter().format(record))["message"]
    assert message == record.getMessage()


@pytest.mark.parametrize(
    ("control", "escaped"),
    [("\r", "\\r"), ("\n", "\\n"), ("\x1b", "\\x1b"), ("\u2028", "\\u2028")],
)
def test_the_text_format_keeps_one_record_on_one_line(control: str, escaped: str) -> None:
    """A carriage return sends a terminal back to the line's start, so what follows overwrites
    what came before: a forged line, or a hidden one."""
    forged = f"login ok{control}2026-12-06 16:00:00,000 INFO assure.api forged"
    record = logging.LogRecord("assure.test", logging.INFO, __file__, 1, forged, (), None)
    record.detail = f"a{control}b"
    line = TextFormatter().format(record)
    assert control not in line
    assert f"login ok{escaped}2026" in line
    assert f"detail=a{escaped}b" in line


@pytest.mark.parametrize(
    "hostile",
    ["eyJ" * 40_000, "token" * 24_000, "a" + "token" * 24_000, "://a" * 30_000, "'token'" * 20_000],
    ids=["jwt-prefixes", "credential-names", "credential-names-run", "url-schemes", "quoted-names"],
)
def test_a_hundred_kilobyte_hostile_message_is_masked_in_linear_time(hostile: str) -> None:
    """A message an attacker shapes (an exception's text quoting what a supplier sent) must not
    turn the masking into a quadratic scan that stalls every thread that logs."""
    record = logging.LogRecord("assure.test", logging.INFO, __file__, 1, "%s", (hostile,), None)
    started = time.perf_counter()
    JsonFormatter().format(record)
    TextFormatter().format(record)
    assert time.perf_counter() - started < 1
