"""Upstream catalogues (CAF, Cyber Essentials, Code of Practice, ...): ids and short titles."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from frameworks.schema import Identifier, Strict, Text, reject_duplicates

# Upstream ids are kept exactly as their publisher writes them (OWASP's `API1:2023`).
ItemId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._():-]{0,63}$")]
# A URN an imported library gave the element; shipped catalogues derive theirs (frameworks/urns.py).
ForeignUrn = Annotated[
    str, StringConstraints(pattern=r"^urn:[a-z0-9][a-z0-9-]{0,31}:[^\s\x00]{1,400}$")
]


class CatalogueItem(Strict):
    id: ItemId
    title: Text
    urn: ForeignUrn | None = None


class CatalogueGroup(Strict):
    id: ItemId
    title: Text
    urn: ForeignUrn | None = None
    items: list[CatalogueItem] = Field(default_factory=list)
    groups: list[CatalogueGroup] = Field(default_factory=list)

    @model_validator(mode="after")
    def _not_empty(self) -> CatalogueGroup:
        if not self.items and not self.groups:
            raise ValueError(f"group {self.id} has neither items nor groups")
        return self

    def walk_items(self) -> list[CatalogueItem]:
        found = list(self.items)
        for group in self.groups:
            found.extend(group.walk_items())
        return found


class UpstreamCatalogue(Strict):
    catalogue_id: Identifier
    title: Text
    version: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    publisher: Text
    licence: Text
    source: Text
    urn: ForeignUrn | None = None
    groups: list[CatalogueGroup] = Field(min_length=1)

    @model_validator(mode="after")
    def _ids_unique(self) -> UpstreamCatalogue:
        reject_duplicates(self._all_ids())
        return self

    def _all_ids(self) -> list[str]:
        ids: list[str] = []

        def visit(group: CatalogueGroup) -> None:
            ids.append(group.id)
            ids.extend(item.id for item in group.items)
            for child in group.groups:
                visit(child)

        for group in self.groups:
            visit(group)
        return ids

    def items(self) -> list[CatalogueItem]:
        return [item for group in self.groups for item in group.walk_items()]

    def item_ids(self) -> list[str]:
        return [item.id for item in self.items()]
