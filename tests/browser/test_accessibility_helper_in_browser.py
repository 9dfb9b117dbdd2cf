"""The axe-core helper itself: it fails on a serious violation (naming the rule and where),
passes a clean page, and an exclusion removes only the exact rule and selector it names."""

from __future__ import annotations

import pytest

from tests.browser.accessibility import (
    Exclusion,
    assert_accessible,
    run_axe,
    serious_violations,
)

BROKEN = """<!doctype html><html lang="en"><head><title>t</title></head><body><main>
<h1>Page</h1><img id="no-alt" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<p id="faint" style="color:#bbbbbb;background:#ffffff">Hard to read</p></main></body></html>"""
CLEAN = """<!doctype html><html lang="en"><head><title>t</title></head><body><main>
<h1>Page</h1><p style="color:#111111;background:#ffffff">Easy to read</p></main></body></html>"""


def test_a_serious_violation_fails_with_its_rule_help_and_selector(browser_page) -> None:  # type: ignore[no-untyped-def]
    browser_page.set_content(BROKEN)
    with pytest.raises(AssertionError) as failed:
        assert_accessible(browser_page)
    said = str(failed.value)
    assert "image-alt" in said
    assert "#no-alt" in said
    assert "color-contrast" in said
    assert "#faint" in said


def test_a_clean_page_passes(browser_page) -> None:  # type: ignore[no-untyped-def]
    browser_page.set_content(CLEAN)
    assert_accessible(browser_page)


def test_an_exclusion_removes_only_its_own_rule_and_selector(browser_page) -> None:  # type: ignore[no-untyped-def]
    browser_page.set_content(BROKEN)
    result = run_axe(browser_page)
    only_alt = (Exclusion("image-alt", "#no-alt", "test"),)
    left = {v["id"] for v in serious_violations(browser_page, result, only_alt)}
    assert "image-alt" not in left
    assert "color-contrast" in left
    wrong_selector = (Exclusion("image-alt", "#elsewhere", "test"),)
    assert "image-alt" in {
        v["id"] for v in serious_violations(browser_page, result, wrong_selector)
    }
    # A rule excluded for an element does not excuse another rule broken there.
    other_rule = (Exclusion("color-contrast", "#no-alt", "test"),)
    left = {v["id"] for v in serious_violations(browser_page, result, other_rule)}
    assert left >= {"image-alt", "color-contrast"}


def test_the_streamlit_navigation_exclusions_name_only_the_navigation(browser_page) -> None:  # type: ignore[no-untyped-def]
    """A list broken the same way outside Streamlit's navigation still fails."""
    browser_page.set_content(
        """<!doctype html><html lang="en"><head><title>t</title></head><body><main><h1>P</h1>
        <ul data-testid="stSidebarNavItems"><div><li>navigation</li></div></ul>
        <ul id="ours"><div><li id="our-item">ours</li></div></ul></main></body></html>"""
    )
    with pytest.raises(AssertionError) as failed:
        assert_accessible(browser_page)
    said = str(failed.value)
    assert "#ours" in said
    assert "stSidebarNavItems" not in said
