"""The TLS check's data, each file read once through a schema: how hard it presses one endpoint
(tls_probing.yaml), the clients whose key exchange it replays (tls_clients.yaml) and the cipher
suites it can name in a CBOM (tls_cipher_suites.yaml). Diffie-Hellman sizes are judged by
checks/data/dh_sizes.yaml, shared with the SSH check."""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kernel.data_yaml import load_data_yaml
from pq_crypto.catalogue import algorithm_index

# The data files sit beside the checks package's modules: read as files, without
# importlib.resources, whose import (tempfile, shutil, zipfile) costs a sandboxed check 8 ms.
DATA = Path(__file__).resolve().parents[1] / "data"


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProbeLimits(_Data):
    concurrent_connections: int = Field(ge=1, le=64)
    retries: int = Field(ge=0, le=5)
    retry_delay_ms: int = Field(ge=0, le=5000)
    budget_timeouts: float = Field(ge=1, le=20)

    def retry_delays(self) -> float:
        """Seconds spent waiting before retries when one probe uses all of them."""
        return self.retry_delay_ms / 1000 * self.retries * (self.retries + 1) / 2

    def for_follow_ups(self, timeout: float) -> ProbeLimits:
        """The same limits, with a budget for a follow-up round (a handful of probes, all open
        at once): room for one probe's every attempt, each `timeout` long, and the delays
        between them, so a single lost connection is retried instead of left inconclusive."""
        attempts = self.retries + 1
        budget = attempts + self.retry_delays() / timeout
        return self.model_copy(update={"budget_timeouts": budget})


class Judge(StrEnum):
    """The part a client plays in the preference verdict."""

    PQ_FIRST = "pq_first"
    CLASSICAL_FIRST = "classical_first"


def _tls_group(algorithm_id: str) -> int:
    """The TLS group code of a catalogue id, or a clear error naming the id."""
    try:
        algorithm = algorithm_index().get(algorithm_id)
    except KeyError:
        raise ValueError(f"{algorithm_id} is not in the algorithm catalogue") from None
    if not algorithm.tls_groups:
        raise ValueError(f"{algorithm_id} has no TLS group code in the algorithm catalogue")
    return algorithm.tls_groups[0]


class TlsClient(_Data):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]*$")
    label: str
    source: str
    judge: Judge
    groups: tuple[str, ...] = Field(min_length=1)  # catalogue ids, most preferred first
    key_shares: tuple[str, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> TlsClient:
        if len(set(self.groups)) != len(self.groups):
            raise ValueError(f"{self.id}: a group is listed twice")
        for group in self.groups:
            _tls_group(group)
        stray = [g for g in self.key_shares if g not in self.groups]
        if stray:
            raise ValueError(f"{self.id}: key shares {stray} are not among its groups")
        return self

    @property
    def codes(self) -> tuple[int, ...]:
        return tuple(_tls_group(group) for group in self.groups)


class TlsClients(_Data):
    clients: tuple[TlsClient, ...] = Field(min_length=2)

    @field_validator("clients")
    @classmethod
    def _one_per_judge(cls, clients: tuple[TlsClient, ...]) -> tuple[TlsClient, ...]:
        ids = [client.id for client in clients]
        if len(set(ids)) != len(ids):
            raise ValueError("two clients share an id")
        judges = [client.judge for client in clients]
        if sorted(judges) != sorted(Judge):
            raise ValueError("exactly one client judges pq_first and one classical_first")
        return clients


class CipherSuite(_Data):
    code: int = Field(ge=0, le=0xFFFF)
    name: str  # IANA's
    openssl: str
    algorithms: tuple[str, ...]

    @field_validator("algorithms")
    @classmethod
    def _catalogued(cls, algorithms: tuple[str, ...]) -> tuple[str, ...]:
        index = algorithm_index()
        for algorithm in algorithms:
            if index.name(algorithm).algorithm_id != algorithm:
                raise ValueError(f"{algorithm} is not an id of the algorithm catalogue")
        return algorithms


class CipherSuites(_Data):
    suites: tuple[CipherSuite, ...]

    def named(self, name: str) -> CipherSuite | None:
        """A suite by its IANA or OpenSSL name, as a handshake reports it."""
        return next((s for s in self.suites if name in (s.name, s.openssl)), None)


def _read(name: str) -> object:
    return load_data_yaml((DATA / name).read_text("utf-8"))


@cache
def probe_limits() -> ProbeLimits:
    return ProbeLimits.model_validate(_read("tls_probing.yaml"))


@cache
def tls_clients() -> tuple[TlsClient, ...]:
    return TlsClients.model_validate(_read("tls_clients.yaml")).clients


def judged_by(judge: Judge) -> TlsClient:
    return next(client for client in tls_clients() if client.judge is judge)


@cache
def cipher_suites() -> CipherSuites:
    return CipherSuites.model_validate(_read("tls_cipher_suites.yaml"))
