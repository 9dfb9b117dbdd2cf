"""The SSH check's data: the clients whose key exchange it predicts (ssh_clients.yaml) and what it
calls weak in a server's offer (ssh_policy.yaml), each read once through a schema."""

from __future__ import annotations

from fnmatch import fnmatchcase
from functools import cache
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from pq_crypto.catalogue import algorithm_index


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


class SshPolicy(_Data):
    pseudo_kex: Names
    strict_kex: str
    terrapin_ciphers: Names
    terrapin_macs: Names
    weak_ciphers: Names
    weak_macs: Names

    def is_pseudo_kex(self, name: str) -> bool:
        return matches(name, self.pseudo_kex)


def matches(name: str, patterns: Names) -> bool:
    return any(fnmatchcase(name, pattern) for pattern in patterns)


def _read(name: str) -> object:
    return yaml.safe_load((resources.files("checks") / "data" / name).read_text("utf-8"))


@cache
def ssh_clients() -> tuple[SshClient, ...]:
    return SshClients.model_validate(_read("ssh_clients.yaml")).clients


@cache
def ssh_policy() -> SshPolicy:
    return SshPolicy.model_validate(_read("ssh_policy.yaml"))
