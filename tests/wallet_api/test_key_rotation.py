"""Key rotation and revocation on books of their own, the keys in a data directory as a
deployment keeps them: rotated by `aizu keys rotate`, what the old keys signed (a seal, a
receipt, a printed shop code, a token) still verifies and pays while new signatures use the new
keys; revoked by `aizu keys revoke`, the old key's codes and tokens are refused with a stable
code and change nothing, its seals signed anew still verify, and a current key is not revoked."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import httpx
import jwt
import psycopg
import pytest
from nacl.signing import VerifyKey
from prometheus_client import REGISTRY
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ledger import key_registry
from ledger.config import Settings
from ledger.database import create_engine, session_factory
from ledger.domain import business_date
from ledger.keys import load_ring, private_key_file, ring_folder
from merchant import emv
from reconciliation.nightly import Night, run_night
from tests.conftest import libpq_conninfo, migrated_database
from tests.reconciliation.conftest import after
from tests.reconciliation.test_seals import a_days_trade, receipt_holds
from tests.wallet_api.cli.test_cli import aizu
from tests.wallet_api.http.api import Api, new_merchant
from tests.wallet_api.http.test_payments import pay, payer, posted
from wallet_api.actor import Role
from wallet_api.http import key_rings
from wallet_api.http.app import create_app
from wallet_api.http.auth import LocalIssuer, RememberingVerifier
from wallet_api.http.key_rings import SigningKeyRevoked
from wallet_api.nightly import STEPS


@dataclass
class Deployment:
    url: URL
    data_dir: Path
    settings: Settings
    engine: AsyncEngine

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return session_factory(self.engine)

    def aizu(self, *args: str) -> Any:
        return aizu(*args, database=self.url, AIZU_DATA_DIR=str(self.data_dir))

    async def clock_behind(self, offset: str | None) -> None:
        """The database's clock `offset` behind (None: on time), for connections made now."""
        setting = (
            "RESET aizu.clock_offset" if offset is None else f"SET aizu.clock_offset = '-{offset}'"
        )
        with psycopg.connect(libpq_conninfo(self.url), autocommit=True) as connection:
            connection.execute(f'ALTER DATABASE "{self.url.database}" {setting}')
        await self.engine.dispose()


@pytest.fixture
async def deployment(server_url: URL, tmp_path: Path) -> AsyncIterator[Deployment]:
    """A deployment from before keys had rings: one platform key file, one issuer key file."""
    private_key_file(tmp_path / "platform-signing.key")
    private_key_file(tmp_path / "local-issuer.key")
    with migrated_database(server_url) as url:
        engine = create_engine(url, pool_size=2)
        yield Deployment(url, tmp_path, Settings(AIZU_DATA_DIR=tmp_path), engine)
        await engine.dispose()


@asynccontextmanager
async def serving(deployment: Deployment) -> AsyncIterator[Api]:
    """The service as `aizu serve` makes it: its keys read from the data directory."""
    app = create_app(deployment.url, deployment.settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield Api(app, client, app.state.token_verifier, app.state.platform_key)


async def refreshed(api: Api) -> None:
    """What every API process does every 30 seconds: read the key registry again."""
    state = api.app.state
    await key_rings.refresh(state.key_rings, state.sessions, state.bearer_tokens)


async def printed_code(api: Api, merchant_id: str, staff: dict[str, str]) -> str:
    response = await api.get(f"/v1/merchants/{merchant_id}/qr", staff)
    assert response.status_code == 200, response.text
    return str(response.json()["payload"])


def unnamed_code(api: Api, merchant_id: str) -> str:
    """A shop code as printed before codes named their key (no template 81)."""
    code = emv.MerchantCode(merchant_id, None, "5812", "Aizu Ramen", "Aizuwakamatsu")
    return emv.encode(code, api.platform_key)


def token_without_kid(issuer: LocalIssuer) -> dict[str, str]:
    """A token as issued before tokens named their key."""
    now = datetime.now(UTC)
    claims = {
        "iss": issuer.issuer,
        "aud": issuer.audience,
        "sub": "operator-legacy",
        "iat": now,
        "exp": now + timedelta(hours=1),
        "roles": [Role.OPERATOR.value],
    }
    return {"Authorization": f"Bearer {jwt.encode(claims, issuer.private_key, algorithm='EdDSA')}"}


async def keys_of(api: Api) -> dict[str, Any]:
    response = await api.client.get("/v1/keys")
    assert response.status_code == 200, response.text
    body = response.json()
    return {key["kid"]: key for key in body["keys"] + body["revoked"]} | {"_": body}


async def test_rotation_keeps_old_signatures_and_revocation_refuses_them(
    deployment: Deployment,
) -> None:
    # The first day's trade is yesterday's (the database a day behind), sealed after its end;
    # today's payments, after the rotation, are sealed by the new key.
    yesterday = business_date(datetime.now(UTC)) - timedelta(days=1)
    await deployment.clock_behind("1 day")
    # --- before the rotation: a day's trade, sealed; a shop's printed code; tokens ---------
    async with serving(deployment) as old:
        old_issuer = old.issuer.kid
        old_platform = load_ring(deployment.settings.platform_key_path).current
        assert not ring_folder(deployment.settings.platform_key_path).exists()  # no step by hand
        region, paid, resident = await a_days_trade(old)
        merchant_id, staff = await new_merchant(old, region)
        old_code = await printed_code(old, merchant_id, staff)
        assert emv.decode(old_code).key_id == old_platform
        legacy_code = unnamed_code(old, merchant_id)
        operator = old.token(Role.OPERATOR, "operator-1")
        assert jwt.get_unverified_header(operator["Authorization"][7:])["kid"] == old_issuer
        legacy_operator = token_without_kid(old.issuer)
        await run_night(
            deployment.sessions, Night(yesterday, after(yesterday), old.platform_key), STEPS
        )
        payment = paid[0]["payment"]
        old_receipt = (
            await old.get(f"/v1/payments/{payment['id']}/receipt", resident.headers)
        ).json()
        assert old_receipt["seal"]["key_id"] == old_platform
        listed = await keys_of(old)
        assert listed[old_platform]["status"] == "current"
        assert listed[old_issuer]["purpose"] == "issuer"

    await deployment.clock_behind(None)
    # --- rotate both rings ---------------------------------------------------------------------
    for purpose in ("platform", "issuer"):
        rotated = deployment.aizu("keys", "rotate", purpose)
        assert rotated.returncode == 0, rotated.stdout + rotated.stderr
    new_platform = load_ring(deployment.settings.platform_key_path).current
    assert new_platform != old_platform
    assert (
        deployment.data_dir / "platform-signing.keys" / f"{new_platform}.key"
    ).stat().st_mode & 0o077 == 0
    checked = deployment.aizu("ledger", "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr

    async with serving(deployment) as new:
        new_issuer = new.issuer.kid
        assert new_issuer != old_issuer
        listed = await keys_of(new)
        assert listed[old_platform]["status"] == listed[old_issuer]["status"] == "retired"
        assert listed[new_platform]["status"] == listed[new_issuer]["status"] == "current"
        # The old seal and the receipt against it check with the old key, picked by its id.
        seal = (await new.client.get(f"/v1/seals/{region.currency}/{yesterday}")).json()
        assert seal["key_id"] == old_platform and seal["resigned_at"] is None
        [audit_seal_before] = (await new.client.get("/v1/audit-seals")).json()
        assert audit_seal_before["key_id"] == old_platform
        assert receipt_holds(old_receipt, listed[old_platform]["hex"])
        # Old tokens, with and without a key id, still work; new ones name the new key.
        assert (await new.get("/v1/nightly", operator)).status_code == 200
        assert (await new.get("/v1/nightly", legacy_operator)).status_code == 200
        new_operator = new.token(Role.OPERATOR, "operator-1")
        assert jwt.get_unverified_header(new_operator["Authorization"][7:])["kid"] == new_issuer
        # The old printed codes pay; a new code names the new key.
        customer = await payer(new, region, 3_000)
        for code in (old_code, legacy_code):
            paying = await pay(new, customer, code, payee=merchant_id, amount=500)
            assert paying.status_code == 201, paying.text
        new_code = await printed_code(new, merchant_id, staff)
        assert emv.decode(new_code).key_id == new_platform
        # --- revoke the old keys -------------------------------------------------------------
        current = deployment.aizu("keys", "revoke", new_platform, "--reason", "by mistake")
        assert current.returncode == 1 and "rotate first" in current.stderr
        revoked = deployment.aizu("keys", "revoke", old_platform, "--reason", "laptop stolen")
        assert revoked.returncode == 0, revoked.stdout + revoked.stderr
        assert "1 seal(s) signed anew" in revoked.stdout
        assert "1 audit seal(s) signed anew" in revoked.stdout
        assert merchant_id in revoked.stdout  # its printed code must be printed again
        revoked = deployment.aizu("keys", "revoke", old_issuer, "--reason", "laptop stolen")
        assert revoked.returncode == 0, revoked.stdout + revoked.stderr
        await refreshed(new)

        before = await posted(new, customer)
        for code in (old_code, legacy_code):
            refused = await pay(new, customer, code, payee=merchant_id, amount=500)
            assert refused.status_code == 403, refused.text
            assert refused.json()["code"] == "qr_key_revoked"
        assert await posted(new, customer) == before  # nothing changed
        paying = await pay(new, customer, new_code, payee=merchant_id, amount=500)
        assert paying.status_code == 201, paying.text
        for token in (operator, legacy_operator):
            refused = await new.get("/v1/nightly", token)
            assert refused.status_code == 401 and refused.json()["code"] == "token_key_revoked"
        assert (await new.get("/v1/nightly", new_operator)).status_code == 200

        # The seal keeps its root and is signed anew; the receipt checks with the new key.
        listed = await keys_of(new)
        assert old_platform not in {key["kid"] for key in listed["_"]["keys"]}
        assert listed[old_platform]["revoked_reason"] == "laptop stolen"
        seal_now = (await new.client.get(f"/v1/seals/{region.currency}/{yesterday}")).json()
        assert seal_now["root"] == seal["root"] and seal_now["resigned_at"] is not None
        assert seal_now["key_id"] == new_platform
        # So is the audit log's seal of the night: its root kept, the revoked key's
        # signature no longer the one to check.
        [audit_seal] = (await new.client.get("/v1/audit-seals")).json()
        assert audit_seal["key_id"] == new_platform and audit_seal["resigned_at"] is not None
        assert audit_seal["root"] == audit_seal_before["root"]
        VerifyKey(bytes.fromhex(audit_seal["public_key"])).verify(
            audit_seal["message"].encode(), bytes.fromhex(audit_seal["signature"])
        )
        entry = payment["entry_id"]  # the resident's token was of the revoked issuer key
        receipt = (await new.get(f"/v1/entries/{entry}/receipt", new_operator)).json()
        assert receipt_holds(receipt, listed[new_platform]["hex"])
        assert not receipt_holds(old_receipt, listed[new_platform]["hex"])
        # Today is sealed by the new key.
        today = yesterday + timedelta(days=1)
        await run_night(deployment.sessions, Night(today, after(today), new.platform_key), STEPS)
        next_seal = (await new.client.get(f"/v1/seals/{region.currency}/{today}")).json()
        assert next_seal["key_id"] == new_platform
    checked = deployment.aizu("ledger", "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    again = deployment.aizu("keys", "resign-seals")
    assert again.returncode == 0 and "0 seal(s) signed anew" in again.stdout
    assert "0 audit seal(s) signed anew" in again.stdout
    shown = deployment.aizu("keys", "list")
    assert f"{old_platform}  platform  revoked" in shown.stdout


async def test_a_seal_left_signed_by_a_revoked_key_fails_the_check_until_signed_anew(
    deployment: Deployment,
) -> None:
    """A worker not yet restarted after the revocation seals a night with the revoked key."""
    today = business_date(datetime.now(UTC))
    async with serving(deployment) as old:
        await a_days_trade(old)
        stale = old.platform_key
    assert deployment.aizu("keys", "rotate", "platform").returncode == 0
    old_kid = load_ring(deployment.settings.platform_key_path).first
    assert deployment.aizu("keys", "revoke", old_kid, "--reason", "leaked").returncode == 0
    steps = [step for step in STEPS if step.name in ("expire", "seal", "seal_audit")]
    await run_night(deployment.sessions, Night(today, after(today), stale), steps)
    checked = deployment.aizu("ledger", "check", "--json")
    assert checked.returncode == 1
    failed = {name: found for name, found in json.loads(checked.stdout)["checks"].items() if found}
    assert failed.keys() == {"seals_signed", "audit_seals_signed"}
    assert all(f"signed by key {old_kid}, revoked since" in found[0] for found in failed.values())
    resigned = deployment.aizu("keys", "resign-seals")
    assert resigned.returncode == 0 and "1 seal(s) signed anew" in resigned.stdout
    assert "1 audit seal(s) signed anew" in resigned.stdout
    checked = deployment.aizu("ledger", "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr


async def test_a_machine_whose_current_key_was_revoked_does_not_start(
    deployment: Deployment, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A machine that was not given the new key folder would sign what is refused."""
    async with serving(deployment):
        pass
    stale = tmp_path_factory.mktemp("stale")
    (stale / "platform-signing.key").write_bytes(
        (deployment.data_dir / "platform-signing.key").read_bytes()
    )
    (stale / "platform-signing.key").chmod(0o600)
    assert deployment.aizu("keys", "rotate", "platform").returncode == 0
    first = load_ring(deployment.settings.platform_key_path).first
    assert deployment.aizu("keys", "revoke", first, "--reason", "leaked").returncode == 0
    app = create_app(deployment.url, Settings(AIZU_DATA_DIR=stale))
    pools = REGISTRY.get_sample_value("aizu_db_pool_size", {"pool": "main"})
    with pytest.raises(SigningKeyRevoked):
        async with app.router.lifespan_context(app):
            pass
    # What the refused start had opened is closed: its pool no longer counts.
    assert REGISTRY.get_sample_value("aizu_db_pool_size", {"pool": "main"}) == pools


async def test_a_process_started_with_the_database_away_registers_its_keys_once_it_is_back(
    deployment: Deployment,
) -> None:
    """A process starts, so /health can say the database is down; it checks with the keys it
    holds meanwhile, and registers them and reads the registry as soon as it is reached."""
    reached = deployment.sessions
    attempts = 0

    def away_twice() -> AsyncSession:
        nonlocal attempts
        attempts += 1
        if attempts <= 2:
            raise ConnectionRefusedError("the database is away")
        return reached()

    issuer = LocalIssuer.from_data_dir(deployment.data_dir)
    sessions = cast(async_sessionmaker[AsyncSession], away_twice)
    rings = await key_rings.open_key_rings(
        sessions, deployment.settings.platform_key_path, None, issuer
    )
    assert not rings.registered and attempts == 1
    async with reached() as session:
        assert await key_registry.registered(session) == []
    async with key_rings.kept_fresh(rings, sessions, RememberingVerifier(issuer), every=0.05):
        for _ in range(100):
            if rings.registered:
                break
            await asyncio.sleep(0.05)
    assert rings.registered and attempts >= 3
    async with reached() as session:
        listed = {key.kid: key.purpose for key in await key_registry.registered(session)}
    assert listed == {rings.platform.kid: "platform", issuer.kid: "issuer"}
