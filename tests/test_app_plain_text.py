"""User text is shown as typed (AppTest): an entrant, supplier, judge, manager or assessor who
types Markdown gets no image, link, HTML, formatting or Streamlit directive on anyone's screen.

Every string that reaches a Markdown-reading element is parsed here with a CommonMark parser
(markdown-it) and checked against the text patterns Streamlit 1.67 rewrites after parsing, so the
check does not trust the escaping it tests.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from sqlalchemy import update
from streamlit.testing.v1 import AppTest

from frameworks.loader import default_framework
from kernel.settings import load_settings
from posture.identity.permissions import Membership, Principal
from posture.storage import migrate
from posture.storage.engine import build_engine, session_factory, transaction
from posture.storage.models import Challenge, Organisation, Product, User
from posture.storage.models import Membership as MembershipRow
from posture.storage.models.enums import Role
from supplier_portal import assessments
from supplier_portal.challenges import entries, judging, manage
from supplier_portal.challenges.forms import EntryForm, ScoreForm
from supplier_portal.forms import AnswerForm, parse_form
from supplier_portal.reviews import review_answer
from tests.challenges.conftest import challenge_form
from ui.plain import WORD_JOINER, escape_markdown, unescape_markdown

PIXEL = "http://127.0.0.1:9/pixel"


def hostile(field: str) -> str:
    """What a hostile user types into `field`: every Markdown trick that reaches a reader."""
    return (
        f"**{field}** ![p]({PIXEL}?{field}) [a](http://x.example) <img src={PIXEL}?{field}> "
        "# h :small :streamlit: a@x.example www.x.example -> `c` $x$ ~~s~~"
    )


TITLE, PROPOSAL, COMMENT = hostile("title"), hostile("proposal") * 2, hostile("comment")
CHALLENGE, CRITERION, QUERY = hostile("challenge"), hostile("criterion"), hostile("query")
ORGANISATION, PRODUCT = hostile("organisation"), hostile("product")

PARSER = MarkdownIt("commonmark").enable(["table", "strikethrough"])
# Made by the parser from Markdown syntax: none may come from what a user typed.
SYNTAX = {"image", "link_open", "html_inline", "html_block", "heading_open", "code_inline"}
SYNTAX |= {"s_open", "em_open", "bullet_list_open", "ordered_list_open", "blockquote_open"}
SYNTAX |= {"fence", "table_open", "hr"}
# What Streamlit 1.67's Markdown renderer rewrites in the parsed text (its GFM autolink literals,
# remark-directive names, :streamlit: and :material_x: shortcodes, and typographic arrows).
REWRITTEN = re.compile(
    r"https?://|www\.|[\w.+-]@[\w-]+\.|:[A-Za-z]|:streamlit:|:material_\w+:"
    r"|(?:^|\s)(?:<->|->|<-|--|>=|<=|~=)(?:\s|$)"
)


def parsed(source: str) -> tuple[set[str], str]:
    """The token types and the text a reader sees for Markdown `source`."""
    kinds: set[str] = set()
    text: list[str] = []
    for token in PARSER.parse(source):
        for part in [token, *(token.children or [])]:
            kinds.add(part.type)
            if part.type == "text":
                text.append(part.content)
            elif part.type in ("softbreak", "hardbreak"):
                text.append("\n")
    return kinds, "".join(text)


def markdown_on_page(app: AppTest) -> Iterator[str]:
    """Every string the page hands to an element that reads Markdown (st.text is plain)."""
    for kind in ("markdown", "caption", "title", "header", "subheader"):
        yield from (element.value for element in app.get(kind))
    for alerts in (app.success, app.info, app.warning, app.error):
        yield from (alert.value for alert in alerts)
    for blocks in (app.expander, app.tabs):
        yield from (block.label for block in blocks)
    for widgets in (app.button, app.checkbox, app.text_input, app.text_area, app.selectbox):
        yield from (widget.label for widget in widgets)
    yield from (bar.text for bar in app.get("progress"))  # type: ignore[attr-defined]
    for metric in app.metric:
        yield from (metric.label, metric.value)


def assert_no_user_markdown(app: AppTest) -> None:
    assert not app.exception, [e.value for e in app.exception]
    for source in markdown_on_page(app):
        kinds, text = parsed(source)
        assert not kinds & SYNTAX, (source, kinds & SYNTAX)
        assert not REWRITTEN.search(text), (source, REWRITTEN.search(text))


def shown_in_markdown(app: AppTest, typed: str) -> bool:
    """Some Markdown element on the page shows `typed` exactly, character for character."""
    return any(
        typed in parsed(source)[1].replace(WORD_JOINER, "") for source in markdown_on_page(app)
    )


def plain_texts(app: AppTest) -> list[str]:
    return [element.value for element in app.text]


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ASSURE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ASSURE_DATABASE_URL", raising=False)
    engine = build_engine(load_settings())
    migrate.upgrade(engine)
    sessions = session_factory(engine)
    people: dict[str, Principal] = {}
    orgs: dict[str, int] = {}
    with transaction(sessions) as session:
        for slug, kind, name in (
            ("innovate", "national_body", "Innovation hub"),
            ("npcc", "national_body", "NPCC"),
            ("s1", "supplier", ORGANISATION),
        ):
            org = Organisation(slug=slug, name=name, kind=kind)
            session.add(org)
            session.flush()
            orgs[slug] = org.id
        for name, org, role in (
            ("manager", "innovate", Role.CHALLENGE_MANAGER),
            ("judge", "innovate", Role.CHALLENGE_JUDGE),
            ("assessor", "npcc", Role.NATIONAL_ASSESSOR),
            ("supplier", "s1", Role.SUPPLIER_ADMIN),
        ):
            user = User(email=f"{name}@example.police.uk", display_name=name)
            session.add(user)
            session.flush()
            session.add(MembershipRow(user_id=user.id, organisation_id=orgs[org], role=role))
            people[name] = Principal(user.id, user.email, (Membership(orgs[org], role),))
        product = Product(
            organisation_id=orgs["s1"], name=PRODUCT, category="analytics", deployment_model="saas"
        )
        session.add(product)
    yield sessions, people, orgs
    engine.dispose()


def _page(module: str, function: str, principal: Principal) -> AppTest:
    app = AppTest.from_function(_render, args=(module, function), default_timeout=30)
    app.session_state["assure_principal"] = principal
    return app.run()


def _render(module: str, function: str) -> None:
    import importlib

    getattr(importlib.import_module(f"ui.pages.{module}"), function)()


def _judged_entry(sessions, people, orgs, *, scored: bool, published: bool) -> None:  # type: ignore[no-untyped-def]
    """A hostile entry to a challenge with a hostile title and rubric, allocated to the judge;
    scored with a hostile comment and its results published when asked."""
    now = datetime.now(UTC)
    rubric = challenge_form().rubric
    rubric[0] = rubric[0].model_copy(update={"title": CRITERION})
    with transaction(sessions) as session:
        challenge = manage.create_challenge(
            session,
            people["manager"],
            orgs["innovate"],
            challenge_form(
                title=CHALLENGE,
                opens_at=now - timedelta(hours=1),
                closes_at=now + timedelta(days=1),
                assessors_per_entry=1,
                rubric=[c.model_dump() for c in rubric],
            ),
        )
        manage.publish_challenge(session, people["manager"], challenge.id)
        form = parse_form(
            EntryForm,
            {"title": TITLE, "proposal": PROPOSAL, "eligibility_answers": {"uk_based": True}},
        )
        entry = entries.save_entry(session, people["supplier"], challenge.id, orgs["s1"], form)
        entries.submit_entry(session, people["supplier"], entry.id)
        session.execute(update(Challenge).values(closes_at=now - timedelta(minutes=1)))
        (allocation,) = manage.allocate_judges(session, people["manager"], challenge.id)
        if scored:
            scores = {
                c.key: {"score": c.scale_max, "comment": COMMENT} for c in challenge_form().rubric
            }
            score = parse_form(ScoreForm, {"scores": scores, "in_scope": True, "fund": True})
            judging.submit_score(session, people["judge"], allocation.id, score)
        if published:
            manage.publish_results(session, people["manager"], challenge.id)


def test_a_judge_reads_the_entry_and_rubric_as_typed(world) -> None:
    sessions, people, orgs = world
    _judged_entry(sessions, people, orgs, scored=False, published=False)
    app = _page("challenges", "judge_page", people["judge"])
    assert_no_user_markdown(app)
    assert PROPOSAL in plain_texts(app)
    assert app.selectbox[0].value[1].title == TITLE  # options are plain text
    assert shown_in_markdown(app, CRITERION)


def test_an_entrant_reads_the_judges_feedback_as_typed(world) -> None:
    sessions, people, orgs = world
    _judged_entry(sessions, people, orgs, scored=True, published=True)
    app = _page("challenges", "enter_page", people["supplier"])
    assert_no_user_markdown(app)
    (feedback,) = app.expander
    assert unescape_markdown(feedback.label) == f"Feedback: {TITLE}"
    assert COMMENT in plain_texts(app)


def test_challenge_titles_are_shown_as_typed_in_results_and_to_the_manager(world) -> None:
    sessions, people, orgs = world
    _judged_entry(sessions, people, orgs, scored=True, published=True)
    results = _page("challenges", "browse", people["supplier"])
    assert_no_user_markdown(results)
    assert any(unescape_markdown(h.value) == f"Results: {CHALLENGE}" for h in results.subheader)
    managed = _page("challenges", "manage_page", people["manager"])
    assert_no_user_markdown(managed)
    assert shown_in_markdown(managed, CHALLENGE)


def test_a_supplier_reads_the_assessors_query_as_typed(world) -> None:
    sessions, people, orgs = world
    loaded = default_framework()
    with transaction(sessions) as session:
        # A supplier's profile is derived from its facts, not chosen.
        draft = assessments.start_assessment(session, people["supplier"], orgs["s1"], None)
        profile = draft.profile_id
        outcome = next(
            o for o in loaded.framework.outcomes() if loaded.profiles[profile].target_for(o)
        )
        form = parse_form(AnswerForm, {"outcome_id": outcome.id})
        answer = assessments.save_answer(session, people["supplier"], draft.id, form)
        assessments.submit_assessment(session, people["supplier"], draft.id)
        review_answer(session, people["assessor"], answer.id, "query", QUERY)
    app = _page("self_assessment", "assessment_page", people["supplier"])
    assert_no_user_markdown(app)
    assert shown_in_markdown(app, QUERY)
    assert any(QUERY in unescape_markdown(w.value) for w in app.warning)


def test_organisation_and_product_names_are_shown_as_typed_even_in_a_refusal(world) -> None:
    _, people, _ = world
    app = _page("supplier", "products_page", people["supplier"])
    assert_no_user_markdown(app)
    assert shown_in_markdown(app, f"Organisation profile: {ORGANISATION}")
    next(t for t in app.text_input if t.label == "Name").input(PRODUCT)
    app = next(b for b in app.button if b.label == "Register").click().run()
    assert_no_user_markdown(app)  # the refusal quotes the name it refuses
    assert any(PRODUCT in unescape_markdown(e.value) for e in app.error)


def test_a_product_name_is_shown_as_typed_when_proving_editing_and_withdrawing(world) -> None:
    _, people, _ = world
    app = _page("supplier", "products_page", people["supplier"])
    app = next(b for b in app.button if b.label == "Issue a challenge").click().run()
    assert_no_user_markdown(app)
    assert shown_in_markdown(app, PRODUCT)  # the challenge names its product
    edit = next(t for t in app.text_input if (t.key or "").startswith("edit-"))
    edit.input(f"{PRODUCT} 2")
    app = next(b for b in app.button if b.label == "Save changes").click().run()
    assert_no_user_markdown(app)
    assert shown_in_markdown(app, f"Saved {PRODUCT} 2.")
    app = next(b for b in app.button if b.label == "Withdraw this product…").click().run()
    assert_no_user_markdown(app)
    assert shown_in_markdown(app, f"Withdraw {PRODUCT} 2?")
    app = next(b for b in app.button if b.label == "Confirm withdrawal").click().run()
    assert_no_user_markdown(app)
    assert shown_in_markdown(app, f"Withdrew {PRODUCT} 2.")


@given(st.text(alphabet=st.sampled_from("ab1 .:@-+=#*_`~[]()<>!&|$\\{}/\n\r\t")))
def test_escaped_text_reads_back_as_typed_and_holds_no_markdown(typed: str) -> None:
    escaped = escape_markdown(typed)
    assert unescape_markdown(escaped) == typed
    kinds, text = parsed(escaped)
    assert not kinds & SYNTAX, (typed, kinds & SYNTAX)
    assert not REWRITTEN.search(text), typed
