"""The API names framework elements by URN beside their labels, and lists every framework a
subject can be assessed against."""

from __future__ import annotations

from fastapi.testclient import TestClient

from frameworks.urns import framework_urn, outcome_urn, parse_urn
from tests.partner_api.conftest import bearer
from tests.partner_api.world import ApiWorld


def test_every_framework_is_listed_with_urns_for_every_element(
    api: tuple[TestClient, ApiWorld],
) -> None:
    client, _ = api
    listed = client.get("/v1/frameworks")
    assert listed.status_code == 200
    frameworks = {f["catalogue_id"]: f for f in listed.json()}
    assert next(iter(frameworks)) == "ptsbd-1.0"  # the default first
    assert {"ncsc-caf-4.0", "cyber-essentials-3.2", "cyber-essentials-3.3"} <= set(frameworks)
    caf = frameworks["ncsc-caf-4.0"]
    assert caf["urn"] == framework_urn("ncsc-caf", "4.0")
    outcomes = [o for obj in caf["objectives"] for p in obj["principles"] for o in p["outcomes"]]
    assert len(outcomes) == 41
    assert "C1.f" in [o["id"] for o in outcomes]
    assert "C2.b" not in [o["id"] for o in outcomes]
    urns = [o["urn"] for o in outcomes]
    assert len(set(urns)) == 41
    assert all(parse_urn(u).scope == "ncsc-caf-4.0" for u in urns)
    # The same label names different outcomes in different frameworks; the URNs tell them apart.
    ptsbd_a1a = outcome_urn("ptsbd", "1.0", "A1.a")
    assert outcome_urn("ncsc-caf", "4.0", "A1.a") in urns
    assert ptsbd_a1a not in urns


def test_one_framework_by_catalogue_id_and_an_unknown_one_is_404(
    api: tuple[TestClient, ApiWorld],
) -> None:
    client, _ = api
    caf = client.get("/v1/frameworks/ncsc-caf-4.0")
    assert caf.status_code == 200
    assert caf.json()["version"] == "4.0"
    newest = client.get("/v1/frameworks/cyber-essentials")
    assert newest.json()["version"] == "3.3"
    assert client.get("/v1/frameworks/ncsc-caf-3.2").status_code == 404
    assert client.get("/v1/frameworks/..%2f..%2fetc").status_code in (404, 422)
    again = client.get(
        "/v1/frameworks/ncsc-caf-4.0", headers={"If-None-Match": caf.headers["ETag"]}
    )
    assert again.status_code == 304


def test_assessments_and_answers_carry_their_framework_and_outcome_urns(
    api: tuple[TestClient, ApiWorld],
) -> None:
    client, prepared = api
    submitted = prepared.world.orgs["s1"].submitted_assessment_id
    read = client.get(f"/v1/assessments/{submitted}", headers=bearer(prepared, "s1"))
    assert read.status_code == 200, read.text
    body = read.json()
    assert (body["framework"], body["framework_urn"]) == (
        "ptsbd-1.0",
        framework_urn("ptsbd", "1.0"),
    )
    assert body["answers"]
    for answer in body["answers"]:
        assert answer["outcome_urn"] == outcome_urn("ptsbd", "1.0", answer["outcome_id"])
        assert answer["inferred"] is None


def test_an_accepted_assessment_is_served_as_oscal_results_and_nothing_less_is(
    api: tuple[TestClient, ApiWorld],
) -> None:
    from sqlalchemy import select

    from frameworks.oscal.validation import oscal_schema_errors
    from posture.storage.engine import transaction
    from posture.storage.models import Answer
    from posture.storage.models.enums import Role
    from supplier_portal.reviews import review_answer

    client, prepared = api
    submitted = prepared.world.orgs["s1"].submitted_assessment_id
    url = f"/v1/assessments/{submitted}/oscal-results"
    refused = client.get(url, headers=bearer(prepared, "s1"))
    assert refused.status_code == 409  # a state conflict: not accepted yet
    assert "accepted" in refused.json()["detail"]
    assessor = prepared.world.principal(Role.NATIONAL_ASSESSOR)
    with transaction(client.app.state.runtime.sessions) as session:
        for answer_id in session.scalars(
            select(Answer.id).where(Answer.assessment_id == submitted)
        ):
            review_answer(session, assessor, answer_id, "accept")
    served = client.get(url, headers=bearer(prepared, "s1"))
    assert served.status_code == 200, served.text
    assert oscal_schema_errors(served.json()) == []
    assert "assessment-results" in served.json()


def test_profiles_and_findings_are_named_by_urn(api: tuple[TestClient, ApiWorld]) -> None:
    from frameworks.urns import finding_urn

    client, prepared = api
    caf = client.get("/v1/frameworks/ncsc-caf-4.0").json()
    profiles = {p["id"]: p["urn"] for p in caf["profiles"]}
    assert profiles == {
        "caf-baseline": "urn:policetech-assure:profile:ncsc-caf-4.0:caf-baseline",
        "caf-enhanced": "urn:policetech-assure:profile:ncsc-caf-4.0:caf-enhanced",
    }
    run_id = prepared.world.orgs["s1"].check_run_id
    run = client.get(f"/v1/check-runs/{run_id}", headers=bearer(prepared, "s1"))
    assert run.status_code == 200, run.text
    findings = run.json()["findings"]
    assert findings
    for finding in findings:
        assert finding["urn"] == finding_urn(finding["code"])
        expected = [outcome_urn("ptsbd", "1.0", o) for o in finding["outcome_ids"]]
        assert finding["outcome_urns"] == expected
