"""Request and response bodies of a browser's sign-in."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from wallet_api.actor import Actor


class LocalSignIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"subject": "resident-0001", "role": "resident"}]},
    )

    subject: str = Field(pattern=r"^[A-Za-z0-9._@-]{1,64}$", description="Who to sign in as.")
    role: Literal["resident", "visitor", "merchant_staff"]
    merchant: str | None = Field(
        default=None, max_length=64, description="The shop, for its staff."
    )
    counter: None = None


class SessionOut(BaseModel):
    signed_in: bool
    subject: str | None
    roles: list[str]
    merchant: str | None
    counter: str | None

    @classmethod
    def nobody(cls) -> SessionOut:
        return cls(signed_in=False, subject=None, roles=[], merchant=None, counter=None)

    @classmethod
    def of(cls, actor: Actor) -> SessionOut:
        return cls(
            signed_in=True,
            subject=actor.subject,
            roles=sorted(actor.roles),
            merchant=actor.merchant,
            counter=actor.counter,
        )


class SignInOptions(BaseModel):
    provider: str | None = Field(description="The city's OpenID Connect provider, if any.")
    local: bool = Field(description="Whether the local sign-in page (no password) is open.")


class SignedOut(BaseModel):
    end_session_url: str | None = Field(
        description="The provider's sign-out page, to end the provider's session as well."
    )
