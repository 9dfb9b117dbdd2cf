"""Verify the audit trail against its signed checkpoints: truncation, re-hashing, tampering.

The hash chain is walked first (posture.audit.verify_chain); then every checkpoint line in the
file, and an exported copy if one is given, is checked for its signature and signer and compared
with the chain as it is now. Each problem is a finding with a stable code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.data_dir import KEYS_FOLDER
from posture.audit import (
    ChainIndex,
    ChainReport,
    canonical_bytes,
    index_events,
    verify_chain,
)
from posture.audit_checkpoint import (
    AuditCheckpoint,
    checkpoint_path,
    parse_line,
    platform_fingerprint,
    read_export,
)
from posture.audit_checkpoint_file import JsonLinesFile, LinesRead
from posture.audit_erasures import erasures_path, read_signed_erasures
from posture.audit_personal import PERSONAL_DATA_SEPARATED
from posture.storage.models import AuditEvent

# Stable codes: a report line can always be traced to the rule that produced it.
TRUNCATED = "AUDIT-CP-TRUNCATED"
REHASHED = "AUDIT-CP-REHASHED"
MISCOUNTED = "AUDIT-CP-COUNT"
BAD_SIGNATURE = "AUDIT-CP-SIGNATURE"
FOREIGN_KEY = "AUDIT-CP-KEY"
MALFORMED = "AUDIT-CP-MALFORMED"
NOT_IN_FILE = "AUDIT-CP-NOT-IN-FILE"
NO_CHECKPOINT = "AUDIT-CP-NONE"
PARTIAL_LINE = "AUDIT-CP-PARTIAL"
# An erasure event with no signed record of it, or a record that does not hold.
ERASURE_UNSIGNED = "AUDIT-ERASURE-UNSIGNED"
ERASURE_RECORD = "AUDIT-ERASURE-RECORD"
# Checkpoints from before the re-seal exist, but none signed since pins the re-sealed trail.
RESEAL_UNPINNED = "AUDIT-CP-RESEAL-UNPINNED"


@dataclass(frozen=True)
class CheckpointFinding:
    code: str
    severity: Literal["break", "warning"]
    source: str
    message: str


def compare_with_chain(checkpoint: AuditCheckpoint, chain: ChainIndex) -> tuple[str, str] | None:
    """(code, message) when the chain no longer holds what `checkpoint` signed, else None."""
    if checkpoint.tip_event_id is None:
        return None  # an empty chain: every chain extends it
    signed = f"it signed {checkpoint.event_count} events up to event {checkpoint.tip_event_id}"
    tip = chain.found.get(checkpoint.tip_event_id)
    if tip is None:
        now = f"the chain now has {chain.event_count}"
        return TRUNCATED, f"truncated: {signed}; event {checkpoint.tip_event_id} is gone and {now}"
    if tip.hash != checkpoint.tip_hash:
        return REHASHED, (
            f"re-hashed: {signed}, but event {checkpoint.tip_event_id}'s hash is not the signed "
            "one: events up to it were changed and the chain re-hashed, or it was replaced"
        )
    if tip.position != checkpoint.event_count:
        return MISCOUNTED, (
            f"{signed}, but {tip.position} events lead up to it now: events before it were "
            "deleted or inserted"
        )
    first_hash = None if chain.first is None else chain.first.hash
    if (chain.first_event_id, first_hash) != (checkpoint.first_event_id, checkpoint.first_hash):
        return REHASHED, (
            f"re-hashed: the chain's first event is not the first of the {checkpoint.event_count} "
            f"events signed up to event {checkpoint.tip_event_id}"
        )
    return None


@dataclass(frozen=True)
class TrailReport:
    chain: ChainReport
    checkpoint_file: Path
    checkpoints_read: int
    checkpoints_valid: int
    key_fingerprint: str | None
    latest: AuditCheckpoint | None
    events_covered: int
    events_after: int
    findings: tuple[CheckpointFinding, ...]

    @property
    def breaks(self) -> tuple[CheckpointFinding, ...]:
        return tuple(f for f in self.findings if f.severity == "break")

    @property
    def has_checkpoint(self) -> bool:
        return all(f.code != NO_CHECKPOINT for f in self.findings)

    @property
    def intact(self) -> bool:
        return self.chain.intact and not self.breaks


def _break(code: str, source: str, message: str) -> CheckpointFinding:
    return CheckpointFinding(code, "break", source, message)


@dataclass
class Checked:
    """Checkpoints read so far: findings about them, and those fit to compare with the chain."""

    trusted: str | None
    findings: list[CheckpointFinding] = field(default_factory=list)
    usable: list[tuple[str, AuditCheckpoint]] = field(default_factory=list)
    # The valid lines' checkpoints, exactly as signed, to find an export among them.
    in_file: list[bytes] = field(default_factory=list)

    def file(self, path: Path, lines: LinesRead) -> None:
        for number, line in lines.lines:
            source = f"{path.name} line {number}"
            try:
                record = parse_line(line)
            except ValueError as exc:
                self.findings.append(_break(MALFORMED, source, f"unreadable checkpoint: {exc}"))
                continue
            valid, reason, signer = record.verify()
            if not valid:
                self.findings.append(_break(BAD_SIGNATURE, source, f"tampered: {reason}"))
            elif self.trusted is not None and signer != self.trusted:
                # A line in another key's name is a forgery: its figures are not compared.
                message = f"signed by keys {signer}, not the platform's"
                self.findings.append(_break(FOREIGN_KEY, source, message))
            else:
                self.usable.append((source, record.checkpoint))
                self.in_file.append(canonical_bytes(record.signed))
        if lines.partial_tail:
            self.findings.append(
                CheckpointFinding(
                    PARTIAL_LINE,
                    "warning",
                    f"{path.name} line {len(lines.lines) + 1}",
                    f"an unfinished last line of {len(lines.partial_tail)} bytes (a write was "
                    "cut short) is ignored; the next checkpoint written removes it",
                )
            )

    def export(self, export_path: Path, checkpoint_file: Path) -> None:
        exported = read_export(export_path)
        source = f"export {export_path.name}"
        valid, reason, signer = exported.verify()
        if not valid:
            self.findings.append(_break(BAD_SIGNATURE, source, f"tampered export: {reason}"))
            return
        # Compared with the chain even when its keys are not the platform's present ones: the
        # export is the anchor kept outside a data folder whose keys may have been replaced.
        self.usable.append((source, exported.checkpoint))
        if self.trusted is not None and signer != self.trusted:
            message = f"signed by keys {signer}, not {self.trusted}"
            self.findings.append(_break(FOREIGN_KEY, source, message))
        if canonical_bytes(exported.signed) not in self.in_file:
            message = (
                f"the exported checkpoint is not in {checkpoint_file.name}: checkpoints were "
                "removed from the file or the file was replaced"
            )
            self.findings.append(_break(NOT_IN_FILE, source, message))


def _resealed(session: Session) -> int | None:
    """The id of the event migration 0020 appended when it re-sealed the trail, if it did."""
    marker = (
        select(AuditEvent.id)
        .where(AuditEvent.action == PERSONAL_DATA_SEPARATED)
        .order_by(AuditEvent.id)
        .limit(1)
    )
    return session.scalar(marker)


def _check_erasures(chain: ChainReport, data_dir: Path, checked: Checked) -> None:
    """Every erasure event in the chain needs a record of it signed with the trusted keys."""
    if not chain.erasures and not erasures_path(data_dir).exists():
        return
    signed = read_signed_erasures(data_dir, checked.trusted)
    for source, message in signed.problems:
        checked.findings.append(_break(ERASURE_RECORD, source, message))
    for event_id, (event_hash, digest) in sorted(chain.erasures.items()):
        record = signed.by_event.get(event_id)
        if record is None or (record.event_hash, record.erased_digest) != (event_hash, digest):
            checked.findings.append(
                _break(
                    ERASURE_UNSIGNED,
                    f"event {event_id}",
                    "an erasure with no matching record signed by the platform's keys: personal "
                    "data was removed by someone who could write the database, not by "
                    "`assure admin erase-person`",
                )
            )


def verify_trail(
    session: Session,
    data_dir: Path,
    *,
    export_path: Path | None = None,
    fingerprint: str | None = None,
) -> TrailReport:
    """The hash chain, then every checkpoint in the file (and the export, if given) against it.
    Checkpoints are trusted when signed by `fingerprint`, else by the platform's own keys."""
    chain = verify_chain(session)
    path = checkpoint_path(data_dir)
    lines = JsonLinesFile(path).read()
    checked = Checked(fingerprint.lower() if fingerprint else platform_fingerprint(data_dir))
    if checked.trusted is None and lines.lines:
        checked.findings.append(
            _break(
                FOREIGN_KEY,
                str(data_dir / KEYS_FOLDER),
                "the platform's signing keys are missing, so no checkpoint can be attributed; "
                "pass --fingerprint with the fingerprint the platform published",
            )
        )
    checked.file(path, lines)
    if export_path is not None:
        checked.export(export_path, path)
    latest: AuditCheckpoint | None = None
    after = 0
    _check_erasures(chain, data_dir, checked)
    # Checkpoints signed before migration 0020 re-sealed the trail name hashes that no longer
    # exist; they were compared with the trail before the re-seal (posture.audit_reseal).
    resealed = _resealed(session)
    before_reseal = [
        (s, c) for s, c in checked.usable if resealed is not None and c.names_legacy_hashes
    ]
    checked.usable = [(s, c) for s, c in checked.usable if (s, c) not in before_reseal]
    pinned = any((c.tip_event_id or 0) >= (resealed or 0) for _, c in checked.usable)
    if before_reseal and not pinned:
        checked.findings.append(
            _break(
                RESEAL_UNPINNED,
                path.name,
                f"the trail was re-sealed at event {resealed} and the checkpoints before it no "
                "longer apply, but no checkpoint since covers the re-seal: the history before "
                "it is unprotected; it could have been rewritten",
            )
        )
    if checked.usable:
        wanted = {c.tip_event_id for _, c in checked.usable if c.tip_event_id is not None}
        index = index_events(session, wanted)
        for source, checkpoint in checked.usable:
            problem = compare_with_chain(checkpoint, index)
            if problem is not None:
                checked.findings.append(_break(problem[0], source, problem[1]))
        latest = max((c for _, c in checked.usable), key=lambda c: c.event_count)
        after = max(0, index.event_count - latest.event_count)
    elif not before_reseal and not lines.lines and chain.events_checked:
        # A fresh install has none until its first snapshot, worker hour or manual checkpoint.
        checked.findings.append(
            CheckpointFinding(
                NO_CHECKPOINT,
                "warning",
                path.name,
                "no checkpoint: truncation cannot be detected; run `assure audit checkpoint` "
                "(the worker writes one hourly, and every snapshot run writes one)",
            )
        )
    return TrailReport(
        chain=chain,
        checkpoint_file=path,
        checkpoints_read=len(lines.lines),
        checkpoints_valid=len(checked.in_file),
        key_fingerprint=checked.trusted,
        latest=latest,
        events_covered=0 if latest is None else latest.event_count,
        events_after=after,
        findings=tuple(checked.findings),
    )
