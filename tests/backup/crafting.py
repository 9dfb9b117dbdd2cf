"""Archives rewritten by hand, as an attacker or a damaged disk would leave them."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path

Members = list[tuple[tarfile.TarInfo, bytes]]


def members_of(archive: Path) -> Members:
    with tarfile.open(archive) as tar:
        return [(m, tar.extractfile(m).read()) for m in tar.getmembers()]  # type: ignore[union-attr]


def written(path: Path, members: Members) -> Path:
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            info.size = len(data) if info.isreg() else 0
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return path


def data_of(members: Members) -> dict[str, bytes]:
    return {info.name: data for info, data in members}


def upload_names(members: Members) -> list[str]:
    return [info.name for info, _ in members if info.name.startswith("uploads/")]


def edit_manifest(members: Members, edit: Callable[[dict], None]) -> Members:
    out = []
    for info, data in members:
        if info.name == "manifest.json":
            document = json.loads(data)
            edit(document)
            data = json.dumps(document).encode()
        out.append((info, data))
    return out


def replace_member(members: Members, name: str, data: bytes) -> Members:
    return [(info, data if info.name == name else old) for info, old in members]
