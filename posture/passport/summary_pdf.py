"""A passport's one-page summary for people, as PDF, with a QR code of the passport's number and
the SHA-256 of its signed file. The PDF is not the passport: only the signed file verifies; the
QR code lets a reader check a file they were given is the one the summary describes."""

from __future__ import annotations

import hashlib
import io
import json
from collections import Counter

import segno
from fpdf import FPDF

from posture.passport.document import PassportBody

QR_SCHEME = "assure-passport"


def qr_payload(document: bytes) -> str:
    body = PassportBody.model_validate(json.loads(document)["passport"])
    return f"{QR_SCHEME}:{body.number}:{hashlib.sha256(document).hexdigest()}"


def _latin(text: str) -> str:
    """The PDF's core fonts cover Latin-1 only: anything else prints as '?', never as markup."""
    return text.encode("latin-1", "replace").decode("latin-1")


class _Summary(FPDF):
    def line_of(self, text: str, size: int = 10, style: str = "") -> None:
        self.set_font("Helvetica", style, size)
        self.multi_cell(0, size * 0.55, _latin(text), new_x="LMARGIN", new_y="NEXT")

    def heading(self, text: str) -> None:
        self.ln(2)
        self.line_of(text, 12, "B")


def passport_pdf(document: bytes) -> bytes:
    body = PassportBody.model_validate(json.loads(document)["passport"])
    pdf = _Summary(format="A4")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.line_of(f"Assurance passport {body.number}", 16, "B")
    version = f" version {body.product.version}" if body.product.version else ""
    pdf.line_of(f"{body.product.name}{version}, supplied by {body.supplier.name}", 12)
    pdf.line_of(
        f"Issued {body.issued_at}; expires {body.expires_at} "
        + ("(a certificate it cites expires then)" if body.expiry_reason == "certificate" else "")
    )
    pdf.heading("Result")
    pdf.line_of(f"Band {body.band}, score {body.score:g}, confidence {body.confidence:g}%")
    pdf.line_of(f"Profile {body.profile.id} ({body.profile.title}): {body.profile.why}")
    counts = Counter(outcome.status for outcome in body.outcomes)
    pdf.line_of("Outcomes: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items())))
    short = [o for o in body.outcomes if o.status != o.target and o.status != "not applicable"]
    if short:
        pdf.line_of(
            "Not at their target: "
            + "; ".join(f"{o.outcome} {o.title} ({o.status}, target {o.target})" for o in short)
        )
    pdf.heading("Evidence it rests on")
    pdf.line_of(
        f"Assessment {body.assessment.id} version {body.assessment.version}, accepted "
        f"{body.assessment.accepted_at}, against {body.assessment.framework.id} "
        f"{body.assessment.framework.version}; SHA-256 {body.assessment.sha256}"
    )
    for run in body.check_runs:
        pdf.line_of(
            f"Check run {run.id}: {run.kind} of {run.target}, finished {run.finished_at}, "
            f"SHA-256 {run.sha256}"
        )
    if not body.check_runs:
        pdf.line_of("No automated check runs.")
    pdf.heading("Exceptions in force")
    for exception in body.exceptions:
        pdf.line_of(f"{exception.framework} {exception.outcome}, until {exception.expires_on}")
    if not body.exceptions:
        pdf.line_of("None.")
    pdf.heading("Verify it")
    pdf.line_of(
        "This summary is not the passport. Verify the signed file (hybrid Ed25519 and ML-DSA-65) "
        "with `assure passport verify FILE --keys KEYS --revocations LIST`, or by sending it to "
        "the platform's POST /v1/passport-verifications. The code below holds the passport's "
        f"number and the SHA-256 of its signed file: {hashlib.sha256(document).hexdigest()}"
    )
    image = io.BytesIO()
    segno.make(qr_payload(document), error="m").save(image, kind="png", scale=4, border=2)
    image.seek(0)
    pdf.image(image, w=45)
    return bytes(pdf.output())
