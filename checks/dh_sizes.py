"""How big a finite-field Diffie-Hellman group must be (checks/data/dh_sizes.yaml): the floors,
the finding each protocol raises under them and how far they cap the key exchange. The TLS and
SSH checks both judge by it, so the same group earns the same verdict in either. Pure."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kernel.data_yaml import load_data_yaml

Protocol = Literal["tls", "ssh"]


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KeyExchangeCap(_Data):
    offered: float = Field(ge=0, le=100)
    negotiated: float = Field(ge=0, le=100)

    @model_validator(mode="after")
    def _negotiated_costs_more(self) -> KeyExchangeCap:
        if self.negotiated > self.offered:
            raise ValueError("a group a client negotiates caps at most what one offered does")
        return self


class DhBand(_Data):
    name: str = Field(pattern=r"^[a-z][a-z_]*$")
    below_bits: int = Field(ge=256, le=16384)
    severity: Literal["low", "medium", "high", "critical"]
    findings: dict[Protocol, str]
    key_exchange_cap: KeyExchangeCap

    @model_validator(mode="after")
    def _every_protocol(self) -> DhBand:
        missing = {"tls", "ssh"} - set(self.findings)
        if missing:
            raise ValueError(f"band {self.name}: no finding for {sorted(missing)}")
        return self


class DhSizes(_Data):
    bands: tuple[DhBand, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> DhSizes:
        floors = [band.below_bits for band in self.bands]
        if floors != sorted(set(floors)):
            raise ValueError("bands go from the weakest up, each floor higher than the last")
        for weaker, stronger in zip(self.bands, self.bands[1:], strict=False):
            for how in ("offered", "negotiated"):
                if getattr(weaker.key_exchange_cap, how) > getattr(stronger.key_exchange_cap, how):
                    raise ValueError(f"band {weaker.name} caps more leniently than {stronger.name}")
        return self

    @property
    def minimum_bits(self) -> int:
        """The floor: a group under it is judged weak (or worse)."""
        return self.bands[-1].below_bits

    @property
    def broken_below_bits(self) -> int:
        """Under this a group is in the weakest band."""
        return self.bands[0].below_bits

    def band(self, bits: int) -> DhBand | None:
        """The band a group of this size falls in; None when it is at or above the floor."""
        return next((band for band in self.bands if bits < band.below_bits), None)

    def key_exchange_cap(self, bits: int | None, negotiated: bool) -> float | None:
        """The most the key exchange sub-score is worth with this group; a size not read
        (None) is capped as the floor's band offered, until the group is proven."""
        band = self.bands[-1] if bits is None else self.band(bits)
        if band is None:
            return None
        cap = band.key_exchange_cap
        return cap.negotiated if negotiated and bits is not None else cap.offered


def load_dh_sizes(text: str) -> DhSizes:
    """The sizes from YAML text, refused when a band names a finding findings.yaml does not
    define or whose severity differs from the band's: the two protocols cannot drift apart."""
    from checks.findings import finding_catalogue  # the catalogue imports every check's spec

    sizes = DhSizes.model_validate(load_data_yaml(text))
    catalogue = finding_catalogue().findings
    for band in sizes.bands:
        for protocol, code in band.findings.items():
            defined = catalogue.get(code)
            if defined is None:
                raise ValueError(f"band {band.name}: {code} ({protocol}) is not in findings.yaml")
            if defined.severity.value != band.severity:
                raise ValueError(
                    f"band {band.name}: {code} is {defined.severity.value} in findings.yaml, "
                    f"the band says {band.severity}"
                )
    return sizes


@cache
def dh_sizes() -> DhSizes:
    text = (Path(__file__).resolve().parent / "data" / "dh_sizes.yaml").read_text("utf-8")
    return load_dh_sizes(text)
