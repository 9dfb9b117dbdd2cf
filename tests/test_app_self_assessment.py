"""The guided self-assessment page (AppTest): the status preview changes as indicators are
ticked and says when one of two "achieved" indicators counts as not achieved, progress counts by
objective, evidence is listed under the outcomes it supports, the assessor's query is shown
beside the answer it concerns naming the product, and a partial submission needs a confirmation
naming how many outcomes are unanswered."""

from __future__ import annotations

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from kernel.settings import load_settings
from posture.identity.permissions import Membership, Principal
from posture.storage.engine import transaction
from posture.storage.models import Answer, Assessment, Product, User
from posture.storage.models import Membership as MembershipRow
from posture.storage.models.enums import Role
from supplier_portal import assessments, evidence
from supplier_portal.forms import AnswerForm
from supplier_portal.reviews import review_answer
from tests.test_app_portal import _add_product, _page, portal  # noqa: F401  (the fixture)
from ui.plain import unescape_markdown

QUERY = "Send the board minutes that name the owner."


def _start(app: AppTest) -> AppTest:
    start = next(b for b in app.button if b.label == "Start or continue the draft")
    app = start.click().run()
    assert any("Draft ready" in s.value for s in app.success), [e.value for e in app.error]
    return app


def _box(app: AppTest, indicator: str):  # type: ignore[no-untyped-def]
    return next(c for c in app.checkbox if c.label.endswith(f"({indicator})"))


def _preview(app: AppTest) -> str:
    shown = [*app.success, *app.warning, *app.info]
    (found,) = [unescape_markdown(a.value) for a in shown if a.value.startswith("**Preview")]
    return found


def _tables(app: AppTest, column: str) -> list:  # type: ignore[type-arg]
    """The tables showing `column`, in page order."""
    return [t.value for t in app.table if column in t.value.columns]


def _state(app: AppTest, outcome_label: str) -> str:
    (table,) = _tables(app, "Saved status")
    return str(table.loc[outcome_label, "Saved status"])


def _button(app: AppTest, label: str):  # type: ignore[no-untyped-def]
    return next(b for b in app.button if b.label == label)


def test_the_preview_changes_as_indicators_are_ticked_and_progress_follows(portal) -> None:  # noqa: F811
    sessions, people = portal
    _add_product(sessions, people["a1"])
    app = _start(_page("self_assessment", "assessment_page", people["a1"]))
    assert "Preview: Not achieved" in _preview(app)
    app = _box(app, "A1.a.A1").check().run()
    said = _preview(app)
    assert "Achieved: 1 of its 2 indicators ticked" in said
    assert "this outcome counts as Not achieved" in said
    assert "To count as Achieved, also tick A1.a.A2." in said
    with sessions() as session:  # nothing is saved by ticking
        assert session.scalars(select(Answer)).all() == []
    app = _box(app, "A1.a.A2").check().run()
    assert "Preview: Achieved" in _preview(app)
    assert any(s.value.startswith("**Preview: Achieved") for s in app.success)
    app.text_area[0].input("Minutes of March")
    app = _button(app, "Save answer").click().run()
    assert any("Answer saved" in s.value for s in app.success), [e.value for e in app.error]
    with sessions() as session:
        answer = session.scalars(select(Answer)).one()
    assert (answer.outcome_id, answer.indicators_met) == ("A1.a", ["A1.a.A1", "A1.a.A2"])
    assert answer.comment == "Minutes of March"
    # Drawn again from the saved answer, and counted.
    assert _box(app, "A1.a.A1").value
    assert _box(app, "A1.a.A2").value
    (bar,) = app.get("progress")
    assert bar.text.startswith("1 of ")  # type: ignore[attr-defined]
    (table,) = _tables(app, "Answered")
    assert table.loc["A Govern security risk", "Answered"] == 1
    assert table["Answered"].sum() == 1
    assert _state(app, "A1.a Senior ownership of security") == "Achieved"
    assert any(c.value == "Saved status: Achieved." for c in app.caption)
    assert _state(app, "A1.b Roles, responsibilities and competence") == "Unanswered"
    # Re-editing the saved outcome keeps it chosen.
    app = _box(app, "A1.a.A2").uncheck().run()
    assert "Preview: Not achieved" in _preview(app)
    assert next(s for s in app.selectbox if s.label == "Outcome").value == "A1.a"


def test_a_not_applicable_answer_without_a_reason_is_refused_and_nothing_saved(portal) -> None:  # noqa: F811
    sessions, people = portal
    _add_product(sessions, people["a1"])
    app = _start(_page("self_assessment", "assessment_page", people["a1"]))
    app = next(c for c in app.checkbox if c.label == "Not applicable to this subject").check().run()
    assert "Say why the outcome does not apply" in _preview(app)
    app = _button(app, "Save answer").click().run()
    assert any("justification" in e.value for e in app.error)
    with sessions() as session:
        assert session.scalars(select(Answer)).all() == []


def test_evidence_is_listed_under_the_outcomes_it_supports(portal) -> None:  # noqa: F811
    sessions, people = portal
    supplier = people["a1"]
    _add_product(sessions, supplier)
    app = _start(_page("self_assessment", "assessment_page", supplier))
    with transaction(sessions) as session:
        draft_id = session.scalars(select(Assessment.id)).one()
        evidence.add_evidence(
            session, supplier, load_settings(), draft_id, "minutes.pdf", b"%PDF-1.7 x", None,
            ["A1.a"],
        )  # fmt: skip
        notes = evidence.add_evidence(session, supplier, load_settings(), draft_id, "n.txt", b"n")
    app = app.run()
    (under_outcome, every_file) = _tables(app, "Valid until")
    assert list(under_outcome.index) == ["minutes.pdf"]
    assert every_file.loc["n.txt", "Supports"] == "no outcome yet"
    # Say that the notes support A1.a and A1.b too.
    link = next(s for s in app.selectbox if s.label == "File")
    app = link.select(notes.id).run()
    supports = next(m for m in app.multiselect if m.label == "It supports")
    app = supports.select("A1.a").select("A1.b").run()
    app = _button(app, "Save what it supports").click().run()
    assert any("Saved the outcomes" in s.value for s in app.success), [e.value for e in app.error]
    (under_outcome, every_file) = _tables(app, "Valid until")
    assert sorted(under_outcome.index) == ["minutes.pdf", "n.txt"]
    assert every_file.loc["n.txt", "Supports"] == "A1.a, A1.b"


def test_the_assessors_query_is_shown_beside_its_answer_naming_the_product(portal) -> None:  # noqa: F811
    sessions, people = portal
    supplier = people["a1"]
    _add_product(sessions, supplier)
    with transaction(sessions) as session:
        product_id = session.scalars(select(Product.id)).one()
        organisation_id = supplier.memberships[0].organisation_id
        first = assessments.start_assessment(session, supplier, organisation_id, product_id)
        form = AnswerForm(outcome_id="A1.a", indicators_met=["A1.a.A1"])
        answer = assessments.save_answer(session, supplier, first.id, form)
        assessments.submit_assessment(session, supplier, first.id)
        review_answer(session, people["assessor"], answer.id, "query", QUERY)
    app = _start(_page("self_assessment", "assessment_page", supplier))
    beside = [unescape_markdown(w.value) for w in app.warning if "About this answer" in w.value]
    assert beside == [f"About this answer: The assessor queried A1.a on Vault (version 1): {QUERY}"]
    label = "A1.a Senior ownership of security"
    assert _state(app, label) == "Unanswered; queried by the assessor"
    outcome = next(s for s in app.selectbox if s.label == "Outcome")
    app = outcome.select("A1.b").run()  # another outcome: the query is not beside it
    assert not [w for w in app.warning if "About this answer" in w.value]
    assert any(QUERY in unescape_markdown(w.value) for w in app.warning)  # still listed above


def test_a_partial_submission_is_confirmed_then_the_form_starts_afresh(portal) -> None:  # noqa: F811
    sessions, people = portal
    _add_product(sessions, people["a1"])
    app = _start(_page("self_assessment", "assessment_page", people["a1"]))
    app = _box(app, "A1.a.PA1").check().run()
    app = _button(app, "Save answer").click().run()
    submit = _button(app, "Submit the assessment")
    assert submit.disabled
    (bar,) = app.get("progress")
    total = int(bar.text.split(" of ")[1].split()[0])  # type: ignore[attr-defined]
    gaps = total - 1
    assert any(f"{gaps} of {total} outcomes are unanswered" in w.value for w in app.warning)
    confirm = next(c for c in app.checkbox if c.label == f"Submit with {gaps} outcomes unanswered")
    app = confirm.check().run()
    app = _button(app, "Submit the assessment").click().run()
    assert any("Submitted for review" in s.value for s in app.success), [e.value for e in app.error]
    with sessions() as session:
        assert session.scalars(select(Assessment.status)).all() == ["submitted"]
    app = _start(app)  # the next version: nothing ticked, nothing confirmed
    assert not _box(app, "A1.a.PA1").value
    assert not next(c for c in app.checkbox if c.label.startswith("Submit with ")).value


def test_a_supplier_member_answers_but_is_not_offered_the_submission(portal) -> None:  # noqa: F811
    sessions, people = portal
    _add_product(sessions, people["a1"])
    with transaction(sessions) as session:
        user = User(email="m1@example.police.uk", display_name="m1")
        session.add(user)
        session.flush()
        organisation_id = people["a1"].memberships[0].organisation_id
        role = Role.SUPPLIER_MEMBER
        session.add(MembershipRow(user_id=user.id, organisation_id=organisation_id, role=role))
        member = Principal(user.id, user.email, (Membership(organisation_id, role),))
    app = _start(_page("self_assessment", "assessment_page", member))
    assert not app.exception
    assert "Submit the assessment" not in [b.label for b in app.button]
    assert any("administrator submits" in c.value for c in app.caption)


def test_a_new_session_opens_the_subjects_draft_with_its_answers(portal) -> None:  # noqa: F811
    sessions, people = portal
    supplier = people["a1"]
    _add_product(sessions, supplier)
    with transaction(sessions) as session:
        product_id = session.scalars(select(Product.id)).one()
        organisation_id = supplier.memberships[0].organisation_id
        # A draft of the organisation's own first, then the product's: a reload (a new session)
        # opens the one for the subject shown, the product.
        assessments.start_assessment(session, supplier, organisation_id, None)
        draft = assessments.start_assessment(session, supplier, organisation_id, product_id)
        form = AnswerForm(outcome_id="A1.a", indicators_met=["A1.a.A1", "A1.a.A2"])
        assessments.save_answer(session, supplier, draft.id, form)
        draft_id = draft.id
    app = _page("self_assessment", "assessment_page", supplier)
    assert not app.exception, [e.value for e in app.exception]
    assert any(c.value.startswith(f"Draft {draft_id} for Vault") for c in app.caption)
    (bar,) = app.get("progress")
    assert bar.text.startswith("1 of ")  # type: ignore[attr-defined]
    assert _box(app, "A1.a.A1").value
