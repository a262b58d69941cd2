"""The body of every refusal, as the OpenAPI document declares it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Problem(BaseModel):
    """An RFC 9457 problem document (`application/problem+json`). Some carry more members:
    `errors` (what failed validation), `attempts_left` (a wrong PIN), `retry_after_seconds`."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["about:blank#insufficient_funds"])
    title: str = Field(examples=["Conflict"])
    status: int = Field(examples=[409])
    code: str = Field(description="Stable: what a client branches on.")
    detail: str = Field(description="For people; may change.")
