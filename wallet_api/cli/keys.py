"""`aizu keys`: the rings of signing keys, the platform's (seals, shops' printed codes) and the
local token issuer's: list them, rotate a new key in, revoke a compromised one, and sign anew
the seals a revoked key made.

The private keys stay in files on the machines that sign: the original key file, and the folder
beside it (`platform-signing.keys/`, `local-issuer.keys/`) holding one file a key rotated in
and `current`, the id of the key that signs. Which keys are valid and which revoked is in the
database, for every process of every machine to agree on."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import click
from nacl.signing import SigningKey
from sqlalchemy.ext.asyncio import AsyncSession

from ledger import key_registry
from ledger.config import Settings, get_settings
from ledger.database import create_engine, session_factory
from ledger.key_registry import KeyRefused, Purpose
from ledger.keys import (
    KeyRevoked,
    add_key,
    forget_key,
    load_ring,
    make_current,
    public_key_of,
    ring_folder,
)
from merchant import service as merchants
from reconciliation import seals
from wallet_api.audit import service as audit
from wallet_api.audit.domain import AuditSeal
from wallet_api.cli.database import ready_database

T = TypeVar("T")
# How soon every API process has read the registry again (`wallet_api.http.key_rings`).
REFRESH_NOTE = "every API process reads the registry again within 30 seconds"


def key_file(settings: Settings, purpose: str) -> Path:
    if purpose == "platform":
        return settings.platform_key_path
    if settings.oidc_issuer:
        raise click.UsageError("tokens come from AIZU_OIDC_ISSUER here, not the local issuer")
    return settings.data_dir / "local-issuer.key"


def in_database(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """`work` in one transaction, committed when it returns."""
    url = ready_database(settings)

    async def run() -> T:
        engine = create_engine(url, pool_size=2)
        try:
            async with session_factory(engine)() as session:
                done = await work(session)
                await session.commit()
                return done
        finally:
            await engine.dispose()

    return asyncio.run(run())


@click.group()
def keys() -> None:
    """Signing keys: the platform's (seals, shops' printed codes) and the local token issuer's."""


@keys.command("list")
def list_keys() -> None:
    """Every registered key: its purpose, status, when made, rotated out and revoked (and why);
    `here` marks the keys this machine holds, `signs` the one it signs with."""
    settings = get_settings()
    held: dict[str, str] = {}
    for purpose in ("platform", "issuer"):
        path = (
            settings.platform_key_path
            if purpose == "platform"
            else settings.data_dir / "local-issuer.key"
        )
        if path.exists():
            ring = load_ring(path, create=False)
            held.update(dict.fromkeys(ring.seeds, "here"))
            held[ring.current] = "here, signs"
    listed = in_database(settings, key_registry.registered)
    for key in listed:
        click.echo(
            f"{key.kid}  {key.purpose:<8}  {key.status:<7}  made {key.created_at:%Y-%m-%d %H:%M}"
            + (f"  rotated out {key.retired_at:%Y-%m-%d %H:%M}" if key.retired_at else "")
            + (
                f"  revoked {key.revoked_at:%Y-%m-%d %H:%M}: {key.revoked_reason}"
                if key.revoked_at
                else ""
            )
            + (f"  [{held[key.kid]}]" if key.kid in held else "")
        )
    if not listed:
        click.echo("no key registered yet: the service registers its keys when it starts")


@keys.command("rotate")
@click.argument("purpose", type=click.Choice(["platform", "issuer"]))
def rotate(purpose: Purpose) -> None:
    """Make a new key for PURPOSE and publish it as the current one. The keys before it are
    rotated out: what they signed (seals, printed codes, tokens) still verifies."""
    settings = get_settings()
    path = key_file(settings, purpose)
    ring = load_ring(path)  # the original key first, made now on a machine that had none
    kid = add_key(path)

    async def publish(session: AsyncSession) -> key_registry.RegisteredKey:
        await key_registry.register_ring(session, purpose, ring)
        return await key_registry.rotate(
            session, purpose, public_key_of(load_ring(path).seeds[kid])
        )

    try:
        in_database(settings, publish)
    except BaseException:
        forget_key(path, kid)  # never published, never to sign
        raise
    make_current(path, kid)
    click.echo(f"{purpose} key {kid} is current; {ring.current} and older keys are rotated out")
    click.echo(
        f"Copy {ring_folder(path)} (owner-only, as it is) to every machine of the service, "
        f"then restart the service's processes there: they sign with it from then on. "
        f"The new public key is in /v1/keys now; {REFRESH_NOTE}."
    )


@keys.command("revoke")
@click.argument("kid")
@click.option("--reason", required=True, help="Why (kept with the key, published).")
def revoke(kid: str, reason: str) -> None:
    """Revoke a compromised key: tokens and shop codes it signed are refused from now on. A
    current key is refused: rotate first. The seals a platform key made are signed anew with
    this machine's current platform key in the same transaction, and the shops whose printed
    code it may have signed are listed, to be printed again."""
    settings = get_settings()

    async def work(
        session: AsyncSession,
    ) -> tuple[key_registry.RegisteredKey, Resigned, list[tuple[str, str, str]]]:
        revoked = await key_registry.revoke(session, kid, reason)
        if revoked.purpose != "platform":
            return revoked, Resigned([], [], []), []
        resigned = await _resign(session, load_ring(settings.platform_key_path).signing_key())
        assert revoked.retired_at is not None  # only a key rotated out is revoked
        shops = await merchants.codes_to_reprint(session, revoked.retired_at)
        return revoked, resigned, shops

    try:
        key, resigned, shops = in_database(settings, work)
    except KeyRefused as refusal:
        raise click.ClickException(str(refusal)) from None
    except KeyRevoked as revoked:
        raise click.ClickException(
            f"this machine signs with platform key {revoked.kid}, which is revoked: copy the "
            "key folder with the current key here first; nothing was revoked"
        ) from None
    click.echo(f"{key.purpose} key {key.kid} revoked at {key.revoked_at}: {key.revoked_reason}")
    click.echo(f"Refused from now on in every API process ({REFRESH_NOTE}).")
    if key.purpose == "issuer":
        click.echo("Tokens it signed are refused (token_key_revoked): issue new ones.")
        return
    _report_seals(resigned)
    click.echo(f"Shops whose printed code must be printed again (qr_key_revoked): {len(shops)}")
    for shop_id, name, status in shops:
        click.echo(f"  {shop_id}  {name}  ({status})")
    ring = load_ring(settings.platform_key_path, create=False)
    if key.kid == ring.first:
        click.echo(
            "This is the platform ring's first key: the secrets derived from it (request "
            "hashes, browser sessions, sign-in) stay derived from it; see the README's key "
            "rotation procedure.",
            err=True,
        )
    if resigned.refused:
        sys.exit(1)


@keys.command("resign-seals")
def resign_seals() -> None:
    """Sign anew, with this machine's current platform key, every seal (of the books and of the
    audit log) whose signature was made by a revoked key (one sealed by a process not yet
    restarted after a revocation, say). Running it again changes nothing."""
    settings = get_settings()

    async def work(session: AsyncSession) -> Resigned:
        return await _resign(session, load_ring(settings.platform_key_path).signing_key())

    try:
        resigned = in_database(settings, work)
    except KeyRevoked as revoked:
        raise click.ClickException(
            f"this machine signs with platform key {revoked.kid}, which is revoked: copy the "
            "key folder with the current key here first"
        ) from None
    _report_seals(resigned)
    if resigned.refused:
        sys.exit(1)


@dataclass(frozen=True, slots=True)
class Resigned:
    """The seals signed anew, the books' and the audit log's, and the days refused."""

    books: list[seals.Seal]
    audit: list[AuditSeal]
    refused: list[str]


async def _resign(session: AsyncSession, signing: SigningKey) -> Resigned:
    books, refused = await seals.resign_seals(session, signing)
    audited, audit_refused = await audit.resign_seals(session, signing)
    return Resigned(books, audited, refused + audit_refused)


def _report_seals(resigned: Resigned) -> None:
    click.echo(f"{len(resigned.books)} seal(s) signed anew, their roots unchanged")
    for seal in resigned.books:
        click.echo(f"  {seal.currency} {seal.business_date}: key {seal.key_id}")
    click.echo(f"{len(resigned.audit)} audit seal(s) signed anew, their roots unchanged")
    for audit_seal in resigned.audit:
        click.echo(f"  audit log {audit_seal.business_date}: key {audit_seal.key_id}")
    for problem in resigned.refused:
        click.echo(f"NOT signed anew: {problem} (run `aizu ledger check`)", err=True)
