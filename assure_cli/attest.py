"""assure attest: sign and verify report files with a hybrid Ed25519 + ML-DSA-65 signature."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from assure_cli.context import fail, friendly_errors
from kernel.settings import load_settings

app = typer.Typer(help="Hybrid post-quantum signed attestations.", no_args_is_help=True)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise fail(f"cannot read {path}: {exc.strerror}") from None


@app.command()
@friendly_errors
def sign(
    file: Path = typer.Argument(..., help="The file to attest (a report, a check result)."),
    out: Path | None = typer.Option(None, "--out", help="Where to write the signature bundle."),
) -> None:
    """Sign FILE; writes FILE.sig.json unless --out says otherwise."""
    from pq_crypto.attestation import sign_bytes
    from supplier_portal.check_exports import signing_keys

    keys = signing_keys(load_settings())
    bundle = sign_bytes(_read(file), file.name, keys)
    target = out or file.with_name(file.name + ".sig.json")
    target.write_text(json.dumps(bundle, indent=2) + "\n", "utf-8")
    typer.echo(f"signed {file} -> {target} (key fingerprint {bundle['key_fingerprint']})")


@app.command()
@friendly_errors
def verify(
    file: Path = typer.Argument(..., help="The attested file."),
    sig: Path = typer.Argument(..., help="Its signature bundle."),
    fingerprint: str | None = typer.Option(
        None, "--fingerprint", help="Also require the signing keys to have this fingerprint."
    ),
) -> None:
    """Verify offline: the file's hash and both signatures must hold."""
    from pq_crypto.attestation import verify_bytes

    try:
        bundle = json.loads(_read(sig))
    except json.JSONDecodeError as exc:
        raise fail(f"{sig} is not a signature bundle: {exc}") from None
    result = verify_bytes(_read(file), bundle if isinstance(bundle, dict) else {})
    if result.valid and fingerprint and result.key_fingerprint != fingerprint.lower():
        typer.echo(f"invalid: signed by keys {result.key_fingerprint}, not {fingerprint}", err=True)
        raise typer.Exit(1)
    if not result.valid:
        typer.echo(f"invalid: {result.reason}", err=True)
        raise typer.Exit(1)
    typer.echo(f"valid: {result.reason} (key fingerprint {result.key_fingerprint})")
