"""Token verification: the local issuer, and an OpenID Connect provider's JWKS served over HTTP."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import RSAAlgorithm

from wallet_api.actor import Actor, Role
from wallet_api.http.auth import LocalIssuer, OidcVerifier, RememberingVerifier, actor_from_claims
from wallet_api.http.problems import Unauthenticated

ISSUER = "https://id.city.example"


@pytest.fixture(scope="module")
def provider_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks_url(provider_key: rsa.RSAPrivateKey) -> Iterator[str]:
    jwk = RSAAlgorithm.to_jwk(provider_key.public_key(), as_dict=True)
    document = json.dumps({"keys": [{**jwk, "kid": "city-1", "use": "sig", "alg": "RS256"}]})

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(document.encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    server.shutdown()
    server.server_close()


def provider_token(key: rsa.RSAPrivateKey, kid: str = "city-1", **overrides: Any) -> str:
    now = datetime.now(UTC)
    claims = {
        "iss": ISSUER,
        "aud": "aizu",
        "sub": "S123",
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "aizu_roles": ["resident", "some-other-service-role"],
        **overrides,
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


async def test_provider_tokens_are_verified_against_its_jwks(
    provider_key: rsa.RSAPrivateKey, jwks_url: str
) -> None:
    verifier = OidcVerifier(issuer=ISSUER, jwks_url=jwks_url, roles_claim="aizu_roles")
    actor = await verifier.verify(provider_token(provider_key))
    assert actor.subject == "S123"
    assert actor.roles == {Role.RESIDENT}


@pytest.mark.parametrize(
    "overrides",
    [
        {"aud": "another-service"},
        {"iss": "https://elsewhere.example"},
        {"exp": datetime.now(UTC) - timedelta(minutes=5)},
    ],
)
async def test_provider_tokens_for_others_or_expired_are_refused(
    provider_key: rsa.RSAPrivateKey, jwks_url: str, overrides: dict[str, Any]
) -> None:
    verifier = OidcVerifier(issuer=ISSUER, jwks_url=jwks_url)
    with pytest.raises(Unauthenticated):
        await verifier.verify(provider_token(provider_key, **overrides))


async def test_tokens_signed_by_another_key_are_refused(jwks_url: str) -> None:
    verifier = OidcVerifier(issuer=ISSUER, jwks_url=jwks_url)
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(Unauthenticated):
        await verifier.verify(provider_token(impostor))
    with pytest.raises(Unauthenticated):
        await verifier.verify(provider_token(impostor, kid="unknown"))


async def test_local_issuer_round_trip_and_expiry() -> None:
    issuer = LocalIssuer.generate()
    token = issuer.issue("S1", [Role.CASHIER], counter="city-hall-1")
    actor = await issuer.verify(token)
    assert actor.subject == "S1"
    assert actor.roles == frozenset({Role.CASHIER})
    assert actor.counter == "city-hall-1"
    stale = issuer.issue("S1", [Role.RESIDENT], now=datetime.now(UTC) - timedelta(hours=2))
    with pytest.raises(Unauthenticated):
        await issuer.verify(stale)


def test_scoped_roles_need_their_scope() -> None:
    claims = {"sub": "S1", "roles": ["cashier", "merchant_staff", "auditor"]}
    assert actor_from_claims(claims).roles == {Role.AUDITOR}
    with pytest.raises(Unauthenticated):
        actor_from_claims({"roles": ["resident"]})


@pytest.mark.parametrize(
    ("overrides", "accepted"),
    [
        ({"nonce": "n-1"}, True),
        ({"nonce": "n-1", "aud": ["aizu-web", "other"], "azp": "aizu-web"}, True),
        ({"nonce": "n-2"}, False),  # another sign-in's token
        ({}, False),  # no nonce at all
        ({"nonce": "n-1", "azp": "another-client"}, False),
        ({"nonce": "n-1", "aud": ["aizu-web", "other"]}, False),  # several audiences, no azp
        ({"nonce": "n-1", "aud": "aizu"}, False),  # an access token's audience, not this client's
    ],
)
async def test_an_id_token_is_for_this_client_and_this_sign_in(
    provider_key: rsa.RSAPrivateKey,
    jwks_url: str,
    overrides: dict[str, Any],
    accepted: bool,
) -> None:
    verifier = OidcVerifier(issuer=ISSUER, jwks_url=jwks_url, roles_claim="aizu_roles")
    token = provider_token(provider_key, **{"aud": "aizu-web", **overrides})
    if accepted:
        actor = await verifier.verify_id_token(token, client_id="aizu-web", nonce="n-1")
        assert actor.subject == "S123"
    else:
        with pytest.raises(Unauthenticated):
            await verifier.verify_id_token(token, client_id="aizu-web", nonce="n-1")


async def test_a_token_for_another_algorithm_than_the_key_is_refused(
    provider_key: rsa.RSAPrivateKey, jwks_url: str
) -> None:
    verifier = OidcVerifier(issuer=ISSUER, jwks_url=jwks_url)
    claims = jwt.decode(provider_token(provider_key), options={"verify_signature": False})
    # The provider's key is RSA: a token that says HS256 or ES256 under its id is refused as
    # such (401), never tried with a key of the wrong kind (a 500 before).
    for algorithm, key in (("HS256", "x" * 32), ("ES256", ec.generate_private_key(ec.SECP256R1()))):
        forged = jwt.encode(claims, key, algorithm=algorithm, headers={"kid": "city-1"})
        with pytest.raises(Unauthenticated):
            await verifier.verify(forged)


class CountingVerifier:
    def __init__(self, issuer: LocalIssuer) -> None:
        self.issuer = issuer
        self.verified = 0

    async def verify(self, token: str) -> Actor:
        self.verified += 1
        return await self.issuer.verify(token)


async def test_a_verified_token_is_remembered_until_it_expires() -> None:
    issuer = LocalIssuer.generate()
    counting = CountingVerifier(issuer)
    remembering = RememberingVerifier(counting, size=2)
    token = issuer.issue("s-1", [Role.RESIDENT], lifetime=timedelta(minutes=5))
    for _ in range(3):
        assert (await remembering.verify(token)).subject == "s-1"
    assert counting.verified == 1
    # Expired ten seconds ago, within the clock skew a verifier allows: checked every time.
    expired = issuer.issue(
        "s-2",
        [Role.RESIDENT],
        now=datetime.now(UTC) - timedelta(minutes=5, seconds=10),
        lifetime=timedelta(minutes=5),
    )
    for _ in range(2):
        assert (await remembering.verify(expired)).subject == "s-2"
    assert counting.verified == 3


async def test_a_refused_token_is_not_remembered_and_the_memory_is_bounded() -> None:
    issuer = LocalIssuer.generate()
    counting = CountingVerifier(issuer)
    remembering = RememberingVerifier(counting, size=2)
    forged = LocalIssuer.generate().issue("s-1", [Role.OPERATOR])
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            await remembering.verify(forged)
    assert counting.verified == 2
    tokens = [issuer.issue(f"s-{n}", [Role.RESIDENT]) for n in range(3)]
    for token in tokens:
        await remembering.verify(token)
    await remembering.verify(tokens[0])  # forgotten: the oldest of three, two kept
    assert counting.verified == 2 + 3 + 1
