"""What a deployment is to the force beside the facts that set its profile (frameworks.
deployment_facts.ForceUse): the product version it runs, how critical the product is to it,
whether it is reachable from the internet, its contract and renewal notice, who owns it, and the
product's sub-suppliers (fourth parties) where known. The field set is defined here once: the
service, the API, the page and the spreadsheet columns derive from it."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from frameworks.deployment_facts import Flag, ForceUse, whole_number
from posture.plain_text import schema_text
from posture.portfolio.policy import portfolio_policy

MAX_SUB_SUPPLIERS = 50
# Two years: a notice period longer than that is a typing error of a date, not a contract term.
MAX_NOTICE_DAYS = 730


def _tier_id(value: str) -> str:
    tiers = portfolio_policy().tier_ids()
    if value not in tiers:
        raise ValueError(f"{value!r} is not a criticality tier; use one of {', '.join(tiers)}")
    return value


# Lists in a spreadsheet cell are separated by this, so no listed name may hold it.
LIST_SEPARATOR = ";"


def name_key(name: str) -> str:
    """One key for a supplier name however it was typed: case and runs of spaces ignored, so the
    concentration view counts "Acme  Cloud" and "acme cloud" as one fourth party."""
    return " ".join(name.split()).casefold()


Version = schema_text(1, 64)
NoticeDays = whole_number(MAX_NOTICE_DAYS)
Owner = schema_text(2, 200)
# The tiers are data: the published schema lists them.
TierId = Annotated[
    str,
    Field(max_length=32, json_schema_extra={"enum": list(portfolio_policy().tier_ids())}),
    AfterValidator(_tier_id),
]
SubSupplier = schema_text(2, 200, also_refused=LIST_SEPARATOR)
SubSuppliers = Annotated[
    list[SubSupplier],
    Field(max_length=MAX_SUB_SUPPLIERS, json_schema_extra={"uniqueItems": True}),
]


class PortfolioDetails(BaseModel):
    """A deployment's portfolio record. Every field may be left out (None, or none listed); an
    undeclared criticality weighs as the most critical tier."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    product_version: Version | None = None
    criticality: TierId | None = None
    internet_facing: Flag = False
    contract_start: date | None = None
    contract_end: date | None = None
    renewal_notice_days: NoticeDays | None = None
    owner: Owner | None = None
    sub_suppliers: SubSuppliers = Field(default_factory=list)

    def record_problem(self) -> None:
        """Fields that disagree with each other, which the services refuse as a conflict (a
        schema cannot say them, so the API must not call them malformed): a contract that ends
        before it starts, a notice period without an end, a sub-supplier named twice however
        it is typed, text that begins or ends with a space."""
        for field, text in (
            ("product_version", self.product_version),
            ("owner", self.owner),
            *(("sub_suppliers", name) for name in self.sub_suppliers),
        ):
            if text is not None and text != text.strip():
                raise ValueError(f"{field}: {text!r} must not begin or end with a space")
        if (
            self.contract_start is not None
            and self.contract_end is not None
            and self.contract_end < self.contract_start
        ):
            raise ValueError("contract_end: the contract ends before it starts")
        if self.renewal_notice_days is not None and self.contract_end is None:
            raise ValueError("renewal_notice_days: give the contract's end date too")
        seen: set[str] = set()
        for name in self.sub_suppliers:
            if name_key(name) in seen:
                raise ValueError(f"sub_suppliers: {name!r} is listed twice")
            seen.add(name_key(name))

    def renewal_notice_on(self) -> date | None:
        """The last day to give notice of renewal or exit."""
        if self.contract_end is None or self.renewal_notice_days is None:
            return None
        return self.contract_end - timedelta(days=self.renewal_notice_days)


class DeploymentRecord(ForceUse, PortfolioDetails):
    """A deployment whole: what the force's use adds to the product's facts and its portfolio
    record, as the API takes it and a spreadsheet row holds it."""

    def use(self) -> ForceUse:
        return ForceUse.model_validate(self.model_dump(include=set(ForceUse.model_fields)))

    def details(self) -> PortfolioDetails:
        return PortfolioDetails.model_validate(
            self.model_dump(include=set(PortfolioDetails.model_fields))
        )

    def problems(self) -> None:
        """Both parts' conflicts between fields, as ValueError (see record_problem)."""
        self.caveat_problem()
        self.record_problem()
