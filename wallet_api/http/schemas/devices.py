"""Request and response bodies of the device endpoints."""

from __future__ import annotations

import base64
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from wallet_api.devices.domain import Device


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


class DeviceOut(BaseModel):
    id: str
    wallet_id: str
    public_key: str
    label: str
    status: str
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, device: Device) -> DeviceOut:
        return cls(
            id=device.id,
            wallet_id=device.wallet_id,
            public_key=base64.urlsafe_b64encode(device.public_key).decode().rstrip("="),
            label=device.label,
            status=device.status.value,
            created_at=device.created_at,
            revoked_at=device.revoked_at,
        )


class DeviceList(BaseModel):
    devices: list[DeviceOut]
