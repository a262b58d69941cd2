"""Request and response bodies of the device endpoints."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from wallet_api.http.schemas.record import PublicKeyText, RecordOut


class DeviceRegister(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"public_key": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "label": "my phone"}
            ]
        },
    )

    public_key: str = Field(
        min_length=43, max_length=44, description="The Ed25519 public key, 32 bytes, base64url."
    )
    label: str = Field(min_length=1, max_length=100)


class DeviceOut(RecordOut):
    id: str
    wallet_id: str
    public_key: PublicKeyText
    label: str
    status: str
    created_at: datetime
    revoked_at: datetime | None


class DeviceList(BaseModel):
    devices: list[DeviceOut]
