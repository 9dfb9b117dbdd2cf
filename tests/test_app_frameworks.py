"""Frameworks in the app (AppTest): browse the CAF with its URNs, see coverage, import only with
an estate-wide role, and fill a CAF self-assessment from inferred answers."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from frameworks.urns import outcome_urn
from posture.framework_exchange import UploadKind, import_upload
from posture.identity.permissions import Membership, PermissionDenied, Principal
from posture.storage.engine import transaction
from posture.storage.models import Answer, ImportedCatalogue, Organisation, User
from posture.storage.models import Membership as MembershipRow
from posture.storage.models.enums import Role
from supplier_portal import assessments
from supplier_portal.forms import AnswerForm
from tests.test_app_portal import _page, portal  # noqa: F401  (the fixture)

NIST_LIBRARY = "tests/data/ciso_assistant/nist-ssdf-1.1-excerpt.yaml"


def test_the_framework_page_shows_the_caf_with_c1f_and_urns(portal) -> None:  # noqa: F811
    _, people = portal
    app = _page("framework", "render", people["a1"])
    assert not app.exception
    app = app.selectbox[0].select("NCSC Cyber Assessment Framework 4.0").run()
    labels = [expander.label for expander in app.expander]
    assert len(labels) == 41
    assert any(label.startswith("C1.f ") for label in labels)
    assert not any(label.startswith("C2.b ") for label in labels)
    captions = [c.value for c in app.caption]
    assert any(outcome_urn("ncsc-caf", "4.0", "C1.f") in c for c in captions)
    # Imports change data every tenant shares: a supplier is not offered them.
    assert "Import" not in [h.value for h in app.header]


def test_an_estate_wide_role_is_offered_imports_and_a_supplier_is_refused_them(
    portal,  # noqa: F811
) -> None:
    sessions, people = portal
    app = _page("framework", "render", people["assessor"])
    assert "Import" in [h.value for h in app.header]
    coverage = app.dataframe[0].value
    assert set(coverage["status"]) <= {"mapped", "partially mapped", "unmapped"}
    data = open(NIST_LIBRARY, "rb").read()  # noqa: SIM115
    try:
        with transaction(sessions) as session:
            import_upload(session, people["a1"], UploadKind.CISO_LIBRARY, "nist.yaml", data)
    except PermissionDenied:
        pass
    else:
        raise AssertionError("a supplier imported a catalogue")
    with transaction(sessions) as session:
        result = import_upload(
            session, people["assessor"], UploadKind.CISO_LIBRARY, "nist.yaml", data
        )
    assert not result.already_present
    with sessions() as session:
        stored = session.scalars(select(ImportedCatalogue)).all()
    assert [row.source_name for row in stored] == ["nist.yaml"]


def test_a_hostile_upload_is_refused_by_its_own_name_and_stores_nothing(portal) -> None:  # noqa: F811
    import pytest

    from kernel.errors import ValidationFailed

    sessions, people = portal
    # Nine levels of aliases, each four of the last: 4**9 copies of "x" if it were expanded.
    lines = ['a: &a ["x", "x", "x", "x"]']
    for depth in range(1, 10):
        name, last = chr(97 + depth), chr(96 + depth)
        lines.append(f"{name}: &{name} [*{last}, *{last}, *{last}, *{last}]")
    bomb = "\n".join(lines).encode()
    with pytest.raises(ValidationFailed) as refused, transaction(sessions) as session:
        import_upload(
            session, people["assessor"], UploadKind.CISO_LIBRARY, "../../etc/x.yaml", bomb
        )
    assert "assure-upload-" not in str(refused.value)
    assert "x.yaml" in str(refused.value)
    with sessions() as session:
        assert session.scalars(select(ImportedCatalogue)).all() == []


def test_a_force_fills_a_caf_self_assessment_from_inferred_answers(portal) -> None:  # noqa: F811
    sessions, _ = portal
    with transaction(sessions) as session:
        force = Organisation(slug="kent", name="Kent Police", kind="force")
        user = User(email="assessor@kent.police.uk", display_name="Kent assessor")
        session.add_all([force, user])
        session.flush()
        session.add(
            MembershipRow(user_id=user.id, organisation_id=force.id, role=Role.FORCE_ASSESSOR)
        )
        me = Principal(user.id, user.email, (Membership(force.id, Role.FORCE_ASSESSOR),))
        ptsbd = assessments.start_assessment(session, me, force.id, None, "force-baseline")
        form = AnswerForm(outcome_id="C1.b", indicators_met=["C1.b.PA1", "C1.b.A1", "C1.b.A2"])
        assessments.save_answer(session, me, ptsbd.id, form)
        assessments.submit_assessment(session, me, ptsbd.id)
    app = _page("self_assessment", "assessment_page", me)
    app = app.selectbox[0].select("NCSC Cyber Assessment Framework 4.0").run()
    start = next(b for b in app.button if b.label == "Start or continue the draft")
    app = start.click().run()
    assert any("Draft ready" in s.value for s in app.success), [e.value for e in app.error]
    infer = next(b for b in app.button if b.label == "Infer answers")
    app = infer.click().run()
    assert any("Inferred answers added" in s.value for s in app.success), [
        e.value for e in app.error
    ]
    outcome = next(s for s in app.selectbox if s.label == "Outcome")
    (states,) = [t.value for t in app.table if "Saved status" in t.value.columns]
    inferred = [o for o in states.index if "(inferred" in states.loc[o, "Saved status"]]
    assert inferred
    assert inferred[0].startswith("B2.c ")
    app = outcome.select(inferred[0].split()[0]).run()
    notes = [i.value for i in app.info]
    assert any(
        "Inferred from PoliceTech Secure by Design C1.b, confirm or change" in n for n in notes
    )
    with sessions() as session:
        held = session.scalars(select(Answer).where(Answer.inferred_from.is_not(None))).all()
    assert [a.outcome_id for a in held] == ["B2.c"]


def test_an_import_cannot_take_a_shipped_catalogues_id(portal) -> None:  # noqa: F811
    import pytest

    from kernel.errors import ValidationFailed

    sessions, people = portal
    data = Path(NIST_LIBRARY).read_bytes()
    with (
        pytest.raises(ValidationFailed, match=r"ncsc-caf-4\.0 is shipped with this release"),
        transaction(sessions) as session,
    ):
        import_upload(
            session, people["assessor"], UploadKind.CISO_LIBRARY, "nist.yaml", data, "ncsc-caf-4.0"
        )
    with sessions() as session:
        assert session.scalars(select(ImportedCatalogue)).all() == []
