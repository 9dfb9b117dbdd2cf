"""The heading-order helper itself fails a page whose h3 comes before any h2."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.app_headings import heading_levels, heading_levels_in_order


def _skips() -> None:
    import streamlit as st

    st.title("Page")
    st.subheader("A third level straight after the title")
    st.header("Second")


def _in_order() -> None:
    import streamlit as st

    st.title("Page")
    st.header("Second")
    with st.expander("More"):
        st.subheader("Third")


def test_an_h3_before_any_h2_is_out_of_order() -> None:
    app = AppTest.from_function(_skips).run()
    assert heading_levels(app) == [1, 3, 2]
    assert not heading_levels_in_order(app)


def test_headings_one_level_at_a_time_are_in_order() -> None:
    app = AppTest.from_function(_in_order).run()
    assert heading_levels(app) == [1, 2, 3]
    assert heading_levels_in_order(app)
