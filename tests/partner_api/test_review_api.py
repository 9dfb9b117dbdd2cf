"""The review queue and decisions over the partner API: paged and filtered like the app, the same
scope, one decision per answer, and refusals that leak nothing."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from kernel.settings import load_settings
from posture.storage.engine import build_engine, session_factory, transaction
from posture.storage.models import Answer, Assessment
from tests.identity.world import WHEN
from tests.partner_api.conftest import bearer, client_for
from tests.partner_api.world import ApiWorld

MORE_OUTCOMES = ("A1.b", "A2.a", "A2.b", "B1.a", "B1.b", "B2.a", "B2.b", "B3.a", "C1.a", "C3.b")


@pytest.fixture
def queue_api(
    api_template: tuple[Path, ApiWorld], tmp_path: Path
) -> Iterator[tuple[TestClient, ApiWorld, Path]]:
    """The API world with more answers waiting in s1's submitted product assessment."""
    template, prepared = api_template
    folder = tmp_path / "data"
    shutil.copytree(template, folder)
    settings = load_settings({"ASSURE_DATA_DIR": str(folder)})
    engine = build_engine(settings)
    with transaction(session_factory(engine)) as session:
        assessment_id = prepared.world.orgs["s1"].submitted_assessment_id
        for outcome_id in MORE_OUTCOMES:
            session.add(
                Answer(
                    assessment_id=assessment_id,
                    outcome_id=outcome_id,
                    indicators_met=[],
                    provenance="self_asserted",
                    answered_at=WHEN,
                )
            )
    engine.dispose()
    with client_for(folder) as client:
        yield client, prepared, folder


def _waiting(folder: Path, prepared: ApiWorld, organisation_id: int | None = None) -> set[int]:
    settings = load_settings({"ASSURE_DATA_DIR": str(folder)})
    engine = build_engine(settings)
    n1 = prepared.world.orgs["n1"].organisation_id
    with session_factory(engine)() as session:
        found = set(
            session.scalars(
                select(Answer.id)
                .join(Assessment, Assessment.id == Answer.assessment_id)
                .where(
                    Answer.review_status.is_(None),
                    Assessment.status.in_(("submitted", "under_review")),
                    Assessment.organisation_id != n1,
                    Assessment.organisation_id == (organisation_id or Assessment.organisation_id),
                )
            )
        )
    engine.dispose()
    return found


def _all_pages(client: TestClient, prepared: ApiWorld, **params: object) -> list[dict]:
    items: list[dict] = []
    offset = 0
    while True:
        answer = client.get(
            "/v1/review-queue",
            params={"limit": 4, "offset": offset, **params},
            headers=bearer(prepared, "assessor"),
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        items += body["items"]
        offset += 4
        if offset >= body["total"]:
            assert len(items) == body["total"]
            return items


def test_the_queue_pages_completely_and_disjointly(queue_api) -> None:
    client, prepared, folder = queue_api
    items = _all_pages(client, prepared)
    ids = [item["answer_id"] for item in items]
    assert len(ids) == len(set(ids))
    assert set(ids) == _waiting(folder, prepared)
    assert len(ids) > 4 * 3  # several pages
    # The assessor's own organisation (n1) is never offered.
    n1_assessment = prepared.world.orgs["n1"].submitted_assessment_id
    assert all(item["assessment_id"] != n1_assessment for item in items)


def test_filters_narrow_the_queue(queue_api) -> None:
    client, prepared, folder = queue_api
    s1, s2 = prepared.world.orgs["s1"], prepared.world.orgs["s2"]
    by_org = _all_pages(client, prepared, organisation_id=s2.organisation_id)
    assert {i["answer_id"] for i in by_org} == _waiting(folder, prepared, s2.organisation_id)
    assert s2.submitted_assessment_id in {i["assessment_id"] for i in by_org}
    by_product = _all_pages(client, prepared, product_id=s1.product_id)
    assert {i["assessment_id"] for i in by_product} == {s1.submitted_assessment_id}
    assert len(by_product) == 1 + len(MORE_OUTCOMES)
    by_outcome = _all_pages(client, prepared, outcome_id="C3.b")
    assert [(i["assessment_id"], i["outcome_id"]) for i in by_outcome] == [
        (s1.submitted_assessment_id, "C3.b")
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 1000},
        {"limit": 0},
        {"offset": -1},
        {"outcome_id": "A1.a' OR '1'='1"},
        {"outcome_id": "x" * 40},
        {"organisation_id": "abc"},
        {"product_id": 0},
        {"contradicted_first": "perhaps"},
    ],
)
def test_bad_paging_or_filters_are_refused_with_422(queue_api, params) -> None:
    client, prepared, _ = queue_api
    answer = client.get("/v1/review-queue", params=params, headers=bearer(prepared, "assessor"))
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_a_decision_sticks_and_is_made_once(queue_api) -> None:
    client, prepared, folder = queue_api
    before = _waiting(folder, prepared)
    answer_id = min(before)
    url = f"/v1/answers/{answer_id}/review"
    decided = client.post(url, json={"decision": "accept"}, headers=bearer(prepared, "assessor"))
    assert decided.status_code == 200, decided.text
    body = decided.json()
    assert body["answer_id"] == answer_id
    assert body["review_status"] == "accepted"
    assert body["assessment_status"] in ("under_review", "accepted")
    again = client.post(
        url,
        json={"decision": "reject", "message": "Second thoughts about this answer."},
        headers=bearer(prepared, "assessor"),
    )
    assert again.status_code == 409
    assert "already accepted" in again.json()["detail"]
    listed = {item["answer_id"] for item in _all_pages(client, prepared)}
    assert listed == before - {answer_id}


def test_refusals_leak_nothing(queue_api) -> None:
    client, prepared, folder = queue_api
    waiting = min(_waiting(folder, prepared))
    n1 = prepared.world.orgs["n1"].submitted_assessment_id
    settings = load_settings({"ASSURE_DATA_DIR": str(folder)})
    engine = build_engine(settings)
    with session_factory(engine)() as session:
        own = session.scalar(select(Answer.id).where(Answer.assessment_id == n1))
    engine.dispose()
    accept = {"decision": "accept"}
    for who in ("s1", "s2", "buyer", "force"):
        headers = bearer(prepared, who)
        assert client.get("/v1/review-queue", headers=headers).status_code == 403
        # The same refusal for an answer that exists and one that does not.
        for target in (waiting, 2_000_000_000):
            refused = client.post(f"/v1/answers/{target}/review", json=accept, headers=headers)
            assert refused.status_code == 403, (who, target)
    assessor = bearer(prepared, "assessor")
    missing = client.post("/v1/answers/2000000000/review", json=accept, headers=assessor)
    assert missing.status_code == 404
    assert client.post("/v1/answers/abc/review", json=accept, headers=assessor).status_code == 404
    mine = client.post(f"/v1/answers/{own}/review", json=accept, headers=assessor)
    assert mine.status_code == 409
    assert client.post(f"/v1/answers/{waiting}/review", json=accept).status_code == 401
    for body in (
        {"decision": "approve"},
        {"decision": "reject", "message": "x" * 4_001},
        {"decision": "accept", "extra": True},
        {},
    ):
        refused = client.post(f"/v1/answers/{waiting}/review", json=body, headers=assessor)
        assert refused.status_code == 422, body
    short = {"decision": "query", "message": "why?"}
    refused = client.post(f"/v1/answers/{waiting}/review", json=short, headers=assessor)
    assert refused.status_code == 409
    assert "tell the supplier what to fix" in refused.json()["detail"]
    assert waiting in _waiting(folder, prepared)
