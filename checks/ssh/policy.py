"""The SSH check's data: the clients whose key exchange it predicts (ssh_clients.yaml) and what it
calls weak in a server's offer (ssh_policy.yaml), each read once through a schema."""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase
from functools import cache
from importlib import resources
from typing import Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pq_crypto.catalogue import AlgorithmClass, algorithm_index


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Names = tuple[str, ...]


class SshClient(_Data):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]*$")
    label: str
    source: str
    kex: Names = Field(min_length=1)

    @field_validator("kex")
    @classmethod
    def _distinct(cls, kex: Names) -> Names:
        if len(set(kex)) != len(kex):
            raise ValueError("a key exchange is listed twice")
        # A name the catalogue does not know would make every prediction through this client
        # "unknown" (or hide a hybrid): a typo or a new algorithm must stop the load instead.
        index = algorithm_index()
        unknown = [
            name for name in kex if index.ssh(name).algorithm_class is AlgorithmClass.UNKNOWN
        ]
        if unknown:
            raise ValueError(
                f"key exchanges not in the algorithm catalogue (pq_crypto/data/algorithms.yaml "
                f"ssh_names): {', '.join(unknown)}"
            )
        return kex

    @property
    def post_quantum_capable(self) -> bool:
        """Whether its list holds a hybrid or post-quantum key exchange: only then is it
        judged, since no server can give a classical-only client one."""
        index = algorithm_index()
        return any(index.ssh(name).quantum_resistant for name in self.kex)


class SshClients(_Data):
    clients: tuple[SshClient, ...] = Field(min_length=1)

    @field_validator("clients")
    @classmethod
    def _unique(cls, clients: tuple[SshClient, ...]) -> tuple[SshClient, ...]:
        ids = [client.id for client in clients]
        if len(set(ids)) != len(ids):
            raise ValueError("two clients share an id")
        return clients


class TerrapinExposureRule(_Data):
    """A cipher (pattern) that is exploitable on its own, or only together with a MAC (pattern)
    offered in the same direction."""

    cipher: str
    mac: str | None = None

    def exposed(self, ciphers: Sequence[str], macs: Sequence[str]) -> list[str]:
        """The offered combinations this rule covers, as "cipher" or "cipher + mac"."""
        hits = [c for c in ciphers if fnmatchcase(c, self.cipher)]
        if self.mac is None:
            return hits
        pattern = self.mac
        return [f"{c} + {m}" for c in hits for m in macs if fnmatchcase(m, pattern)]


# A sub-score the check computes, and the most it can be worth under a condition.
Caps = dict[Literal["key_exchange", "signatures_and_certificates"], float]
# The key exchange caps for Diffie-Hellman groups are checks/data/dh_sizes.yaml's, shared with TLS.
CapName = Literal[
    "no_verified_host_key",
    "host_certificate_out_of_validity",
    "host_certificate_refused",
]


class SshPolicy(_Data):
    pseudo_kex: Names
    strict_kex: str
    terrapin_exposures: tuple[TerrapinExposureRule, ...] = Field(min_length=1)
    weak_ciphers: Names
    weak_macs: Names
    dh_fixed_groups: dict[str, int]
    dh_group_exchange: Names
    subscore_caps: dict[CapName, Caps]

    @model_validator(mode="after")
    def _known_kex(self) -> SshPolicy:
        index = algorithm_index()
        for name in [*self.dh_fixed_groups, *self.dh_group_exchange]:
            if index.ssh(name).algorithm_class is AlgorithmClass.UNKNOWN:
                raise ValueError(f"{name} is not in the algorithm catalogue")
        missing = set(get_args(CapName)) - set(self.subscore_caps)
        if missing:
            raise ValueError(f"subscore_caps: no cap for {sorted(missing)}")
        return self

    def is_pseudo_kex(self, name: str) -> bool:
        return matches(name, self.pseudo_kex)

    def terrapin_exposed(self, ciphers: Sequence[str], macs: Sequence[str]) -> list[str]:
        found = [hit for rule in self.terrapin_exposures for hit in rule.exposed(ciphers, macs)]
        return list(dict.fromkeys(found))


def matches(name: str, patterns: Names) -> bool:
    return any(fnmatchcase(name, pattern) for pattern in patterns)


def _read(name: str) -> object:
    return yaml.safe_load((resources.files("checks") / "data" / name).read_text("utf-8"))


def load_ssh_clients(text: str) -> tuple[SshClient, ...]:
    """Client lists from YAML text, refused (pydantic's ValidationError naming the client and the
    names) when a list is malformed or names a key exchange the catalogue does not know."""
    return SshClients.model_validate(yaml.safe_load(text)).clients


@cache
def ssh_clients() -> tuple[SshClient, ...]:
    return load_ssh_clients(
        (resources.files("checks") / "data" / "ssh_clients.yaml").read_text("utf-8")
    )


@cache
def ssh_policy() -> SshPolicy:
    return SshPolicy.model_validate(_read("ssh_policy.yaml"))
