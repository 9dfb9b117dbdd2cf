"""User text on screen: shown as typed, never read as Markdown.

Streamlit 1.67 reads Markdown (GitHub-flavoured, plus its own directives, emoji and icon
shortcodes, and LaTeX) in st.markdown and st.write, st.title/header/subheader, st.caption, the
alert boxes (st.info/success/warning/error), st.progress and st.toast text, st.metric label,
value and delta, every widget label (buttons, expanders, tabs, popovers, checkboxes, inputs),
radio options and tooltips. An image there is fetched by the reader's browser, labels included,
so a supplier's `![x](http://them/pixel)` would tell them when an assessor or judge opened it.
st.text, st.code, st.json, st.dataframe and the options of st.selectbox and st.multiselect are
plain text.

So user text goes on screen one of two ways:
- `plain(text)` where it stands alone (st.text: no Markdown, no HTML);
- `escape_markdown(text)` where it must sit inside a Markdown string: a label, a heading or an
  alert composed with fixed words. `plain_error` shows a refusal, whose message may quote input.
"""

from __future__ import annotations

import re

import streamlit as st

WORD_JOINER = "\u2060"

# Streamlit rewrites some patterns in the text that remains after Markdown is parsed, where a
# backslash escape has already been resolved: bare URLs and e-mail addresses become links,
# `:name` becomes a directive (`:small`, `:red`, `:help`...), `:streamlit:` an image,
# `:material_x:` and `:smile:` icons, `->` `--` `>=` arrows and dashes. A word joiner (U+2060,
# zero width, not shown) between the characters leaves the words as typed but breaks the match.
_JOIN = re.compile(r"(?<=:)|(?=@)|(?i:(?<=www)(?=\.))|(?<=[-<>~])(?=[-<>=])")
# CommonMark: a backslash before ASCII punctuation shows that character literally. These are the
# characters that start inline syntax anywhere in a line: escapes, code, emphasis, strikethrough,
# links and images, raw HTML and autolinks, directive attributes, entities, tables, math, headings.
_INLINE = re.compile(r"([\\`*_~\[\]()<>{}!&|$#])")
# ...and these only at the start of a line (after LF or CR, as Markdown counts lines): list items,
# setext underlines, thematic breaks and ordered lists ("1." here; the ")" of "1)" is above).
_LINE_START = re.compile(r"(?<![^\r\n])([ \t]*)([-+=]|[0-9]+\.)")
_UNESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def escape_markdown(text: object) -> str:
    """Markdown that Streamlit shows as exactly `text`: no link, image, HTML, formatting, icon or
    directive survives. Use it for user text inside labels, headings, captions and alerts."""
    escaped = _INLINE.sub(r"\\\1", _JOIN.sub(WORD_JOINER, str(text)))
    return _LINE_START.sub(_escape_line_start, escaped)


def _escape_line_start(match: re.Match[str]) -> str:
    indent, marker = match.groups()
    return f"{indent}{marker[:-1]}\\." if marker.endswith(".") else f"{indent}\\{marker}"


def unescape_markdown(markdown: str) -> str:
    """The text a reader sees for `escape_markdown`'s output (for tests and comparisons)."""
    return _UNESCAPE.sub(r"\1", markdown).replace(WORD_JOINER, "")


def plain(text: object) -> None:
    """Show user text on its own, exactly as typed (no Markdown, no HTML)."""
    st.text(str(text))


def plain_error(message: object) -> None:
    """Show a refusal. Service messages quote names and input, so none of it is Markdown."""
    st.error(escape_markdown(message))
