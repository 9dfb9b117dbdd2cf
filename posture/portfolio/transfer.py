"""A force's portfolio as a spreadsheet: exported with the columns of posture.portfolio.columns,
and imported from the same columns (an asset list a force already keeps, in CSV or XLSX).

An import is all or nothing. Every row is read and checked, and every row's problem is reported
with its row number; when any row has one, nothing is imported. Otherwise each row deploys its
product or replaces its deployment's record in one transaction, each change audited as a change
made on the page is, with one more event naming the file (its SHA-256) and the counts. A
column the file lacks leaves that field of an existing deployment as it is (a blank cell clears
it), so an asset list with a few of the columns updates those. Rows
name a product by id or by name; a product the force may not deploy is "not found", as it is on
the page, whichever way it is named. Deployments the file does not name are left as they are."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from kernel.errors import LocatedProblems, ValidationFailed
from kernel.spreadsheets import Sheet, SheetLimits, SheetRefused, SheetRow, read_sheet
from posture.audit import hold_append_lock, record
from posture.identity.accounts import actor_of
from posture.identity.permissions import NotFound, Principal, require
from posture.plain_text import said
from posture.portfolio.columns import (
    COLUMNS,
    FIELDS,
    PRODUCT,
    PRODUCT_ID,
    CellProblem,
    cell_text,
    cell_value,
    column_key,
)
from posture.portfolio.deployments import (
    DEPLOYABLE,
    deployed_product_ids,
    put_deployment,
    record_of,
)
from posture.portfolio.details import DeploymentRecord, name_key
from posture.storage.models import Deployment, Product

# A force's portfolio is hundreds of products; a file of more rows is not an asset list.
MAX_ROWS = 2_000
LIMITS = SheetLimits(max_bytes=2 * 1024 * 1024, max_rows=MAX_ROWS, max_columns=len(COLUMNS) + 8)
# Problems listed in the refusal; the count says how many more there were.
MAX_PROBLEMS_LISTED = 100


@dataclass(frozen=True)
class RowProblem:
    row: int
    problem: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.problem}"


class ImportRefused(LocatedProblems):
    """Nothing was imported; `problems` says why, row by row."""

    def __init__(self, problems: list[RowProblem]) -> None:
        self.problems = problems
        shown = "; ".join(str(p) for p in problems[:MAX_PROBLEMS_LISTED])
        more = len(problems) - MAX_PROBLEMS_LISTED
        tail = f"; and {more} more" if more > 0 else ""
        super().__init__(
            f"nothing was imported: {len(problems)} row(s) have problems: {shown}{tail}",
            [(f"row {p.row}", p.problem) for p in problems],
        )


@dataclass
class ImportReport:
    deployed: list[int] = field(default_factory=list)
    changed: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(self.deployed) + len(self.changed) + len(self.unchanged)


@dataclass(frozen=True)
class _Row:
    number: int
    product_id: int | None
    product_name: str
    # The fields the file has a column for, as its cells say them.
    values: dict[str, Any]


def _columns(sheet: Sheet) -> dict[str, str]:
    """Each header of the file to its column; a header that is no column refuses the file."""
    by_key = {column_key(header): header for header in sheet.columns}
    if len(by_key) != len(sheet.columns):
        raise ValidationFailed("two headers name the same column; keep one of them")
    unknown = [header for key, header in by_key.items() if key not in COLUMNS]
    if unknown:
        raise ValidationFailed(
            f"unknown column(s) {', '.join(repr(h) for h in unknown)}; "
            f"the columns are {', '.join(COLUMNS)}"
        )
    if PRODUCT_ID not in by_key and PRODUCT not in by_key:
        raise ValidationFailed(f"the file needs a {PRODUCT_ID} or a {PRODUCT} column")
    return {column: by_key[column] for column in COLUMNS if column in by_key}


def _read_row(row: SheetRow, headers: dict[str, str]) -> _Row | RowProblem:
    values: dict[str, Any] = {}
    problems = []
    for column in FIELDS:
        if column not in headers:
            continue
        try:
            values[column] = cell_value(column, row.cells[headers[column]])
        except CellProblem as exc:
            problems.append(f"{column}: {exc}")
    product_id: int | None = None
    id_text = row.cells.get(headers.get(PRODUCT_ID, ""), "").strip()
    name = " ".join(row.cells.get(headers.get(PRODUCT, ""), "").split())
    if id_text:
        if not id_text.isascii() or not id_text.isdigit() or len(id_text) > 18:
            problems.append(f"{PRODUCT_ID}: {id_text!r} is not a product id")
        else:
            product_id = int(id_text)
    elif not name:
        problems.append(f"give the {PRODUCT_ID} or the {PRODUCT} name")
    if problems:
        return RowProblem(row.number, "; ".join(problems))
    return _Row(row.number, product_id, name, values)


def _record(row: _Row, current: dict[str, Any] | None) -> DeploymentRecord | RowProblem:
    """The row's deployment: what the file says over what the deployment holds now (a column
    the file lacks leaves its field as it is; a blank cell clears it)."""
    try:
        record = DeploymentRecord.model_validate({**(current or {}), **row.values})
        record.problems()
    except ValidationError as exc:
        return RowProblem(row.number, said(exc))
    except ValueError as exc:
        return RowProblem(row.number, str(exc))
    return record


def _reachable(session: Session, organisation_id: int) -> Any:
    """Products a row may name: those the force may deploy, and those it deploys now."""
    return or_(DEPLOYABLE, Product.id.in_(deployed_product_ids(organisation_id)))


def _resolve(
    session: Session, organisation_id: int, rows: list[_Row]
) -> tuple[dict[int, int], list[RowProblem]]:
    """Each row's product id (by row number), or its problem: not found, or a name that is
    ambiguous or disagrees with the id given beside it."""
    reachable = _reachable(session, organisation_id)
    ids = {row.product_id for row in rows if row.product_id is not None}
    names_by_id: dict[int, str] = dict(
        session.execute(
            select(Product.id, Product.name).where(Product.id.in_(ids), reachable)
        ).all()
    )
    typed = {row.product_name for row in rows if row.product_id is None and row.product_name}
    by_name: dict[str, list[int]] = {}
    if typed:
        # Every name the force may reach, compared in Python: case and runs of spaces do not
        # matter (name_key), which SQL's lower() cannot say beyond ASCII.
        wanted = {name_key(name) for name in typed}
        for product_id, product_name in session.execute(
            select(Product.id, Product.name).where(reachable)
        ):
            key = name_key(product_name)
            if key in wanted:
                by_name.setdefault(key, []).append(product_id)
    resolved: dict[int, int] = {}
    problems: list[RowProblem] = []
    first_row: dict[int, int] = {}
    for row in rows:
        if row.product_id is not None:
            if row.product_id not in names_by_id:
                problems.append(RowProblem(row.number, f"product {row.product_id} not found"))
                continue
            actual = names_by_id[row.product_id]
            if row.product_name and name_key(row.product_name) != name_key(actual):
                problems.append(
                    RowProblem(
                        row.number,
                        f"product {row.product_id} is named {actual!r}, not "
                        f"{row.product_name!r}; correct one or leave {PRODUCT} blank",
                    )
                )
                continue
            product_id = row.product_id
        else:
            matches = by_name.get(name_key(row.product_name), [])
            if not matches:
                problems.append(RowProblem(row.number, f"product {row.product_name!r} not found"))
                continue
            if len(matches) > 1:
                problems.append(
                    RowProblem(
                        row.number,
                        f"{len(matches)} products are named {row.product_name!r} "
                        f"(ids {', '.join(map(str, sorted(matches)))}); give the {PRODUCT_ID}",
                    )
                )
                continue
            product_id = matches[0]
        if product_id in first_row:
            problems.append(
                RowProblem(
                    row.number, f"product {product_id} is also on row {first_row[product_id]}"
                )
            )
            continue
        first_row[product_id] = row.number
        resolved[row.number] = product_id
    return resolved, problems


def read_rows(data: bytes) -> tuple[list[_Row], list[RowProblem]]:
    """The file's rows read and checked on their own (no database): the good and the bad."""
    try:
        sheet = read_sheet(data, limits=LIMITS)
    except SheetRefused as exc:
        raise ValidationFailed(f"the file cannot be imported: {exc}") from None
    if not sheet.rows:
        raise ValidationFailed("the file has no rows to import")
    headers = _columns(sheet)
    good: list[_Row] = []
    bad: list[RowProblem] = []
    for row in sheet.rows:
        read = _read_row(row, headers)
        (bad if isinstance(read, RowProblem) else good).append(read)  # type: ignore[arg-type]
    return good, bad


def import_deployments(
    session: Session, principal: Principal, organisation_id: int, data: bytes
) -> ImportReport:
    """Import the file into the force's portfolio, whole, or refuse it changing nothing (the
    caller's transaction is rolled back by ImportRefused, which says what each bad row needs)."""
    require(principal, "deployment.manage", organisation_id, "organisation")
    good, problems = read_rows(data)
    # Imports of one force run one after another, so what a row changes is judged against what
    # the import before it left.
    hold_append_lock(session)
    resolved, unresolved = _resolve(session, organisation_id, good)
    before = _current(session, organisation_id, resolved.values())
    records: list[tuple[_Row, int, DeploymentRecord]] = []
    for row in good:
        if row.number not in resolved:
            continue
        product_id = resolved[row.number]
        merged = _record(row, before.get(product_id))
        if isinstance(merged, RowProblem):
            unresolved.append(merged)
        else:
            records.append((row, product_id, merged))
    problems = sorted([*problems, *unresolved], key=lambda p: p.row)
    if problems:
        raise ImportRefused(problems)
    report = ImportReport()
    for row, product_id, wanted in records:
        try:
            deployment, created = put_deployment(
                session, principal, organisation_id, product_id, wanted.use(), wanted.details()
            )
        except (ValidationFailed, NotFound) as exc:
            # Checked above; a product withdrawn meanwhile still fails the whole file.
            raise ImportRefused([RowProblem(row.number, str(exc))]) from None
        if created:
            report.deployed.append(product_id)
        elif before.get(product_id) != record_of(deployment):
            report.changed.append(product_id)
        else:
            report.unchanged.append(product_id)
    record(
        session,
        actor_of(principal),
        "deployment.imported",
        "organisation",
        organisation_id,
        {
            "sha256": hashlib.sha256(data).hexdigest(),
            "counts": {
                "deployed": len(report.deployed),
                "changed": len(report.changed),
                "unchanged": len(report.unchanged),
            },
        },
        organisation_id=organisation_id,
    )
    return report


def _current(
    session: Session, organisation_id: int, product_ids: Iterable[int]
) -> dict[int, dict[str, Any]]:
    deployments = session.scalars(
        select(Deployment).where(
            Deployment.organisation_id == organisation_id,
            Deployment.product_id.in_(list(product_ids)),
            Deployment.ended_at.is_(None),
        )
    )
    return {d.product_id: record_of(d) for d in deployments}


def export_rows(session: Session, principal: Principal, organisation_id: int) -> list[dict]:
    """The force's live deployments as rows of COLUMNS, by product name: the file an import
    reads back unchanged."""
    require(principal, "risk.read", organisation_id, "organisation")
    rows = session.execute(
        select(Deployment, Product.name)
        .join(Product, Product.id == Deployment.product_id)
        .where(Deployment.organisation_id == organisation_id, Deployment.ended_at.is_(None))
        .order_by(Product.name, Product.id)
    )
    exported = []
    for deployment, name in rows:
        # cell_text writes JSON values (ISO dates, enum values) as it would the Python ones.
        record = record_of(deployment)
        exported.append(
            {
                PRODUCT_ID: deployment.product_id,
                PRODUCT: name,
                **{column: cell_text(record[column]) for column in FIELDS},
            }
        )
    return exported
