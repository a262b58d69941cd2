"""Request and response bodies of a browser's sign-in."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from wallet_api.actor import Actor, Role


class LocalSignIn(BaseModel):
    """Who to be on a trial service: any role, the shop of a shop's staff and the counter of
    a cashier named, and nothing else."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"subject": "resident-0001", "role": "resident"},
                {"subject": "cashier-1", "role": "cashier", "counter": "city-hall-1"},
            ]
        },
    )

    subject: str = Field(pattern=r"^[A-Za-z0-9._@-]{1,64}$", description="Who to sign in as.")
    role: Role
    merchant: str | None = Field(
        default=None, min_length=1, max_length=64, description="The shop, for its staff."
    )
    counter: str | None = Field(
        default=None, min_length=1, max_length=64, description="The counter, for its cashier."
    )

    @model_validator(mode="after")
    def _scope_fits_the_role(self) -> LocalSignIn:
        if (self.merchant is not None) != (self.role is Role.MERCHANT_STAFF):
            raise ValueError("a shop is named for its staff, and only for them")
        if (self.counter is not None) != (self.role is Role.CASHIER):
            raise ValueError("a counter is named for its cashier, and only for them")
        return self


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
