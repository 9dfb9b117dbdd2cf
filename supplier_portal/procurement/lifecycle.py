"""The states of a product's application to a framework lot, and the moves between them.

The states are defined once, with the other stored vocabularies (posture.storage.models.enums),
since a force's deployment reads them too; the code names the ones it acts on (a new application is
applied, a listed one is published and re-checked). Which moves are allowed, and who may make
each, is data (supplier_portal/data/listing_lifecycle.yaml), read through `ListingLifecycle`."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, model_validator

from kernel.errors import ValidationFailed
from posture.storage.models.enums import ListingState as ListingState

# "officer" needs procurement.manage; "supplier" needs procurement.apply on the product's owner.
Mover = Literal["officer", "supplier"]


class ListingLifecycle(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    transitions: dict[ListingState, dict[ListingState, Mover]]

    @model_validator(mode="after")
    def _every_state_once(self) -> ListingLifecycle:
        missing = [state.value for state in ListingState if state not in self.transitions]
        if missing:
            raise ValueError(f"transitions: say where {', '.join(missing)} may move ({{}}: none)")
        for state, moves in self.transitions.items():
            if state in moves:
                raise ValueError(f"transitions.{state.value}: a state cannot move to itself")
        return self

    def mover(self, current: str, to_status: str) -> Mover:
        """Who may move an application from `current` to `to_status`; refused if nobody may."""
        moves = self.transitions.get(ListingState(current), {})
        if to_status not in moves:
            raise ValidationFailed(
                f"an application that is {current} cannot become {to_status}; "
                f"allowed: {', '.join(moves) or 'none'}"
            )
        return moves[ListingState(to_status)]

    def destinations(self) -> list[ListingState]:
        """Every state some move leads to, in lifecycle order (what a person can choose)."""
        reached = {to for moves in self.transitions.values() for to in moves}
        return [state for state in ListingState if state in reached]


@cache
def listing_lifecycle() -> ListingLifecycle:
    text = (resources.files("supplier_portal") / "data" / "listing_lifecycle.yaml").read_text()
    return ListingLifecycle.model_validate(yaml.safe_load(text))
