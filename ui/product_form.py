"""The product form, for registering a product and for editing one: one widget for each field of
the product's one field definition (`ProductFields`), in its order and with its limits, and what
they hold checked by that same model. A field added there without a widget here stops the page,
so the form cannot quietly fall behind the partner API."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import streamlit as st
from annotated_types import MaxLen

from frameworks.deployment_facts import LABELS, MAX_FORCES, MAX_RECORDS
from kernel.errors import AssureError
from supplier_portal.forms import ProductForm, parse_form
from supplier_portal.product_fields import ISO_DAY, MAX_CONNECTED_NETWORKS, ProductFields
from supplier_portal.vocabulary import (
    CertificationScheme,
    DataLocation,
    DeploymentModel,
    NationalSystem,
    PoliceNetwork,
    ProductCategory,
    SecurityClassification,
    VettingLevel,
    values,
)
from ui.plain import plain_error

# A fact left undeclared is read as the most demanding answer (frameworks/proportionality.py).
NOT_DECLARED = "not declared (read as the most demanding)"

# Dates a product's support and certificates can sensibly carry (Streamlit's own default range
# is ten years either side of today, too short for an end of life).
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)


def _max_length(field: str) -> int | None:
    limits = [
        m.max_length for m in ProductFields.model_fields[field].metadata if isinstance(m, MaxLen)
    ]
    return limits[0] if limits else None


def _choice(label: str, options: list[str], key: str, current: Any) -> str:
    return st.selectbox(
        label, options, index=options.index(current) if current in options else 0, key=key
    )


def _name(key: str, current: Any) -> str:
    # Surrounding spaces are tidied here; the model refuses them from the API.
    return st.text_input(
        "Name", value=current or "", max_chars=_max_length("name"), key=key
    ).strip()


def _category(key: str, current: Any) -> str:
    return _choice("Category", values(ProductCategory), key, current)


def _deployment(key: str, current: Any) -> str:
    return _choice("Deployment model", values(DeploymentModel), key, current)


def _description(key: str, current: Any) -> str:
    limit = _max_length("description")
    return st.text_area("Description", value=current or "", max_chars=limit, key=key).strip()


def _locations(key: str, current: Any) -> list[str]:
    options = values(DataLocation)
    held = [v for v in current or [] if v in options]
    return st.multiselect("Where data is stored and processed", options, default=held, key=key)


def _classification(key: str, current: Any) -> str | None:
    options: list[str | None] = [None, *values(SecurityClassification)]
    return st.selectbox(
        "Highest classification it is accredited to hold",
        options,
        index=options.index(current) if current in options else 0,
        format_func=lambda v: NOT_DECLARED if v is None else LABELS[SecurityClassification(v)],
        key=key,
    )


def _caveat(key: str, current: Any) -> bool:
    return st.checkbox(
        "OFFICIAL data carries the SENSITIVE caveat (OFFICIAL-SENSITIVE)",
        value=bool(current),
        key=key,
    )


def labelled_choices(label: str, vocabulary: type[StrEnum]) -> Callable[[str, Any], list[str]]:
    """A multiselect of a fact vocabulary's values, shown by their labels."""

    def widget(key: str, current: Any) -> list[str]:
        options = values(vocabulary)
        held = [v for v in current or [] if v in options]
        return st.multiselect(
            label,
            options,
            default=held,
            format_func=lambda v: LABELS[vocabulary(v)],
            key=key,
        )

    return widget


def _vetting(key: str, current: Any) -> str | None:
    options: list[str | None] = [None, *values(VettingLevel)]
    return st.selectbox(
        "Vetting its support staff need",
        options,
        index=options.index(current) if current in options else 0,
        format_func=lambda v: NOT_DECLARED if v is None else LABELS[VettingLevel(v)],
        key=key,
    )


def _count(label: str, maximum: int) -> Callable[[str, Any], int | None]:
    def widget(key: str, current: Any) -> int | None:
        value = st.number_input(
            label,
            min_value=0,
            max_value=maximum,
            value=current,
            step=1,
            key=key,
            help=f"Left blank, it is {NOT_DECLARED}.",
        )
        return None if value is None else int(value)

    return widget


# What people call each scheme (the stored values are identifiers).
CERTIFICATION_LABELS: dict[str, str] = {
    CertificationScheme.CYBER_ESSENTIALS: "Cyber Essentials",
    CertificationScheme.CYBER_ESSENTIALS_PLUS: "Cyber Essentials Plus",
    CertificationScheme.ISO27001: "ISO/IEC 27001",
}


@dataclass(frozen=True)
class Refusal:
    """What a widget refuses before the model reads the field: shown, and nothing is sent."""

    reason: str


def _certifications(key: str, current: Any) -> list[dict[str, Any]] | Refusal:
    """Per scheme, whether it is held and the day it expires. Ticked without a day goes to the
    model, which refuses it by name; a day given to a scheme not ticked is refused here, so a
    certification typed in is never dropped unseen."""
    stored: dict[str, date | None] = {}
    for held in current or []:
        scheme, expires = held.get("scheme"), _as_day(held.get("expires"))
        day = expires if isinstance(expires, date) else None
        earlier = stored.get(scheme)
        # A scheme recorded more than once (the API allows it) shows its latest expiry.
        if scheme not in stored or (day and (earlier is None or day > earlier)):
            stored[scheme] = day
    rows: list[dict[str, Any]] = []
    strays: list[str] = []
    st.markdown("**Certifications held** (each with the day it expires)")
    for scheme in values(CertificationScheme):
        label = CERTIFICATION_LABELS[scheme]
        ticked = st.checkbox(f"Holds {label}", value=scheme in stored, key=f"{key}-{scheme}")
        kept = stored.get(scheme)
        expires = st.date_input(
            f"{label} expires",
            value=kept,
            min_value=EARLIEST,
            max_value=LATEST,
            format="YYYY-MM-DD",
            key=f"{key}-{scheme}-expires",
        )
        if ticked:
            rows.append({"scheme": scheme, "expires": expires})
        elif expires is not None and expires != kept:
            # A stored day cannot be emptied in the picker, so unticking a stored certification
            # removes it; a new day without the tick is a certification half entered.
            strays.append(label)
    if strays:
        return Refusal(
            f"certifications: an expiry day was given for {', '.join(strays)} but it is not "
            "ticked as held; tick it to record the certification, or remove the day"
        )
    # In the stored order, so saving an edit that left them alone changes nothing.
    order = [*stored, *values(CertificationScheme)]
    return sorted(rows, key=lambda row: order.index(row["scheme"]))


def _as_day(value: Any) -> Any:
    # Stored expiry days are ISO text, and the editor may hand back a cell the browser changed
    # as a midnight timestamp or as text: each is the day it names (the model refuses a moment).
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str) and ISO_DAY.fullmatch(value):
        return date.fromisoformat(value)
    return value  # anything else goes to the model, which names it


def _day(label: str, hint: str) -> Callable[[str, Any], date | None]:
    def widget(key: str, current: Any) -> date | None:
        return st.date_input(
            label,
            value=current,
            min_value=EARLIEST,
            max_value=LATEST,
            format="YYYY-MM-DD",
            key=key,
            help=hint,
        )

    return widget


def _api(key: str, current: Any) -> bool:
    return st.checkbox("Offers an API to customers", value=bool(current), key=key)


def _networks(key: str, current: Any) -> list[str]:
    typed = st.text_area(
        f"Connected networks (one a line, at most {MAX_CONNECTED_NETWORKS})",
        value="\n".join(current or []),
        key=key,
    )
    return [line.strip() for line in typed.splitlines() if line.strip()]


def _version(key: str, current: Any) -> str | None:
    typed = st.text_input(
        "Version (the release you ship and have assessed)",
        value=current or "",
        max_chars=64,
        key=key,
    )
    return typed.strip() or None


WIDGETS: dict[str, Callable[[str, Any], Any]] = {
    "name": _name,
    "version": _version,
    "category": _category,
    "deployment_model": _deployment,
    "description": _description,
    "data_locations": _locations,
    "max_classification": _classification,
    "sensitive_caveat": _caveat,
    "police_networks": labelled_choices("Police networks it connects to", PoliceNetwork),
    "national_systems": labelled_choices("National systems it has access to", NationalSystem),
    "vetting": _vetting,
    "forces_served": _count("Forces it serves", MAX_FORCES),
    "records_held": _count("Records it holds", MAX_RECORDS),
    "certifications": _certifications,
    "support_ends": _day("Support ends", "The last day you support the version you ship."),
    "end_of_life": _day("End of life", "The day the product is retired: support ends by then."),
    "api_available": _api,
    "connected_networks": _networks,
}


def product_form(
    key: str, submit: str, current: Mapping[str, Any] | None = None, heading: str | None = None
) -> ProductFields | None:
    """Draw the form, filled with `current` (a stored product's fields) if given. Returns the
    fields once submitted and valid; a refusal is shown, naming the field, and returns None."""
    current = current or {}
    with st.form(key):
        if heading:
            st.subheader(heading)
        given = {
            field: WIDGETS[field](f"{key}-{field}", current.get(field))
            for field in ProductFields.model_fields
        }
        sent = st.form_submit_button(submit)
    if not sent:
        return None
    refused = [value.reason for value in given.values() if isinstance(value, Refusal)]
    if refused:
        plain_error("; ".join(refused))
        return None
    try:
        return parse_form(ProductForm, given)
    except AssureError as exc:
        plain_error(exc)
        return None
