"""Response bodies read from a domain record: each field from the record's attribute of the
same name, so a field added to both needs no copying code."""

from __future__ import annotations

import base64
from typing import Annotated, Any, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict


class RecordOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    @classmethod
    def of(cls, record: Any) -> Self:
        return cls.model_validate(record)


def _base64url(value: object) -> object:
    if isinstance(value, bytes):
        return base64.urlsafe_b64encode(value).decode().rstrip("=")
    return value


# A public key: 32 bytes in the record, unpadded base64url in the body.
PublicKeyText = Annotated[str, BeforeValidator(_base64url)]
