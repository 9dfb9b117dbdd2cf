"""A force's portfolio as a spreadsheet: export its deployments with the columns an import reads,
and import an asset list whole or not at all (a refusal lists each bad row's problem, and
changes nothing)."""

from __future__ import annotations

from typing import Annotated, Literal

import pandas as pd
from fastapi import APIRouter, Form, Path, Query, Response
from pydantic import Field

from partner_api.deps import Caller, Reading, Rt
from partner_api.models import FileUpload, Out
from partner_api.uploads import OnePartPerField, read_upload
from posture.exports import to_csv, to_xlsx
from posture.portfolio.columns import COLUMNS
from posture.portfolio.transfer import export_rows, import_deployments
from posture.storage.engine import transaction

router = APIRouter(prefix="/v1/risk", tags=["risk register"])
OrganisationPath = Annotated[int, Path(ge=1, le=2_147_483_647)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BINARY = {"type": "string", "format": "binary"}


class PortfolioImportOut(Out):
    deployed: list[int] = Field(description="Products the import deployed.")
    changed: list[int] = Field(description="Deployments whose record the import changed.")
    unchanged: list[int] = Field(description="Deployments the file named as they already were.")


@router.get(
    "/organisations/{organisation_id}/portfolio",
    operation_id="exportPortfolio",
    summary="The force's deployments as a spreadsheet (CSV or XLSX) with the columns "
    "importPortfolio reads",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": BINARY}, XLSX: {"schema": BINARY}}}},
)
def export_portfolio(
    me: Caller,
    session: Reading,
    organisation_id: OrganisationPath,
    format: Annotated[Literal["csv", "xlsx"], Query()] = "csv",
) -> Response:
    frame = pd.DataFrame(export_rows(session, me, organisation_id), columns=list(COLUMNS))
    name = f"portfolio-{organisation_id}.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if format == "xlsx":
        return Response(to_xlsx(frame, "portfolio"), media_type=XLSX, headers=headers)
    return Response(to_csv(frame), media_type="text/csv; charset=utf-8", headers=headers)


@router.post(
    "/organisations/{organisation_id}/portfolio-imports",
    operation_id="importPortfolio",
    summary="Deploy or update the products a CSV or XLSX asset list names, all of them or, "
    "when any row has a problem, none (409, each row's problem listed)",
    response_model=PortfolioImportOut,
)
def import_portfolio(
    me: Caller,
    _parts: OnePartPerField,
    rt: Rt,
    organisation_id: OrganisationPath,
    body: Annotated[FileUpload, Form(media_type="multipart/form-data")],
) -> PortfolioImportOut:
    _, data = read_upload(body.file)
    with transaction(rt.sessions) as session:
        report = import_deployments(session, me, organisation_id, data)
    return PortfolioImportOut(
        deployed=report.deployed, changed=report.changed, unchanged=report.unchanged
    )
