"""Deployment settings, read once from the environment (see README, "Configuration")."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    # Unset means the embedded default: a private PostgreSQL in AIZU_DATA_DIR.
    database_url: str | None = Field(default=None, alias="DATABASE_URL")
    # A streaming replica of DATABASE_URL for the economists' reads; unset means the primary.
    replica_database_url: str | None = Field(default=None, alias="AIZU_REPLICA_DATABASE_URL")
    # Unset means kombu's SQLAlchemy transport on the same PostgreSQL.
    celery_broker_url: str | None = Field(default=None, alias="CELERY_BROKER_URL")
    data_dir: Path = Field(default=Path(".aizu"), alias="AIZU_DATA_DIR")
    embedded_database_name: str = Field(default="aizu", alias="AIZU_EMBEDDED_DATABASE")
    host: str = Field(default="127.0.0.1", alias="AIZU_HOST")
    port: int = Field(default=8000, alias="AIZU_PORT")
    db_pool_size: int = Field(default=10, alias="AIZU_DB_POOL_SIZE")
    db_max_overflow: int = Field(default=5, alias="AIZU_DB_MAX_OVERFLOW")
    log_level: str = Field(default="info", alias="AIZU_LOG_LEVEL")
    # One JSON object a line, for a log collector; `text` for a person at a terminal.
    log_format: Literal["json", "text"] = Field(default="json", alias="AIZU_LOG_FORMAT")
    # Unset means $AIZU_DATA_DIR/platform-signing.key, created on first use.
    platform_key_file: Path | None = Field(default=None, alias="AIZU_PLATFORM_KEY_FILE")
    # Unset means the local token issuer (a key in AIZU_DATA_DIR; see `aizu token issue`).
    oidc_issuer: str | None = Field(default=None, alias="AIZU_OIDC_ISSUER")
    oidc_jwks_url: str | None = Field(default=None, alias="AIZU_OIDC_JWKS_URL")
    oidc_audience: str = Field(default="aizu", alias="AIZU_OIDC_AUDIENCE")
    oidc_roles_claim: str = Field(default="roles", alias="AIZU_OIDC_ROLES_CLAIM")
    # The service as the provider's client, for browsers signing in (authorization code + PKCE).
    oidc_client_id: str = Field(default="aizu", alias="AIZU_OIDC_CLIENT_ID")
    oidc_client_secret: str | None = Field(default=None, alias="AIZU_OIDC_CLIENT_SECRET")
    # The service's origin as browsers reach it (https://pay.city.example), behind a proxy:
    # the session cookie's Secure flag, the sign-in callback and the same-origin check use it.
    public_url: str | None = Field(default=None, alias="AIZU_PUBLIC_URL")
    # The local sign-in page (anyone, no password): unset means open on the embedded default
    # without a provider only. Never open while AIZU_OIDC_ISSUER is set.
    local_sign_in: bool | None = Field(default=None, alias="AIZU_LOCAL_SIGN_IN")
    # The smallest group of residents a published statistic may describe.
    k_anonymity: int = Field(default=10, ge=2, alias="AIZU_K_ANONYMITY")
    # Unset means $AIZU_DATA_DIR/exports: the economists' feed, a folder per currency and date.
    export_dir: Path | None = Field(default=None, alias="AIZU_EXPORT_DIR")
    # The bearer token Prometheus scrapes `/metrics` with; unset means no `/metrics` at all.
    metrics_token: str | None = Field(default=None, alias="AIZU_METRICS_TOKEN")

    @property
    def platform_key_path(self) -> Path:
        return self.platform_key_file or self.data_dir / "platform-signing.key"

    @property
    def export_path(self) -> Path:
        return self.export_dir or self.data_dir / "exports"

    @property
    def embedded(self) -> bool:
        return self.database_url is None

    @property
    def public_origin(self) -> str | None:
        """`AIZU_PUBLIC_URL` as an origin: scheme and host (and port), lower case."""
        if not self.public_url:
            return None
        scheme, _, rest = self.public_url.partition("://")
        host = rest.split("/", 1)[0]
        if scheme not in ("http", "https") or not host:
            raise ValueError("AIZU_PUBLIC_URL must be an http(s) URL such as https://pay.example")
        return f"{scheme}://{host}".lower()

    @property
    def local_sign_in_open(self) -> bool:
        if self.oidc_issuer:
            return False
        return self.embedded if self.local_sign_in is None else self.local_sign_in


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
