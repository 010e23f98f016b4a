"""Gateway settings: one pydantic-settings class, read once and passed down explicitly."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MAX_TOKEN_TTL_S = 15 * 60
"""Session tokens live at most 15 minutes (issue 3, item 2)."""


class GatewaySettings(BaseSettings):
    """Everything the gateway can be told, from `QCITY_*` environment variables or the CLI."""

    model_config = SettingsConfigDict(env_prefix="QCITY_", extra="ignore", frozen=True)

    data_dir: Path = Field(Path(".qcity"), description="Gateway key, embedded chain, SQLite.")
    chain_url: str | None = Field(None, description="External EVM JSON-RPC URL; None: embedded.")
    db_url: str | None = Field(None, description="SQLAlchemy URL; None: SQLite in data_dir.")
    funder_key_file: Path | None = Field(
        None, description="External node only: a file (mode 0600) with the hex key of a funded "
        "account that pays the gateway's own accounts; None: the node's first unlocked account.")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)

    audience: str = Field("qcity-gateway", min_length=1, description="Token `aud` claim.")
    issuer: str = Field("qcity-gateway", min_length=1, description="Token `iss` claim.")
    token_ttl_s: int = Field(MAX_TOKEN_TTL_S, ge=1, le=MAX_TOKEN_TTL_S)
    challenge_ttl_s: int = Field(60, ge=1, le=600)
    clock_skew_s: int = Field(5, ge=0, le=60)

    permission_mode: Literal["indexed", "naive"] = Field(
        "indexed", description="naive (one eth_call per check) exists only as a bench baseline."
    )
    index_poll_s: float = Field(0.1, gt=0, le=10, description="How often to look for new blocks.")
    max_index_lag_blocks: int = Field(0, ge=0, description="Deny (503) beyond this lag.")
    index_wait_s: float = Field(
        1.0, ge=0, le=30, description="How long a request waits for the index to catch up."
    )
    chain_stale_s: float = Field(
        2.0, gt=0, description="Deny (503) when the chain has not answered for this long."
    )

    anchor_every_n: int = Field(
        8192, ge=1, description="Anchor once this many decisions wait (default: a full batch; "
        "under heavy load a lower count means a transaction, and a block, per count).")
    anchor_every_s: float = Field(5.0, gt=0, description="... or at least this often.")
    anchor_max_batch: int = Field(8192, ge=1, description="Most decisions under one root.")
    audit_flush_max: int = Field(512, ge=1, description="Most decisions per audit commit.")

    telemetry: bool = Field(
        False, description="FastAPI's OpenTelemetry spans, metrics and logs, through the "
        "global providers. Off, FastAPI does not look for providers (in the environment) on "
        "every request.",
    )

    rpc_max_batch: int = Field(50, ge=1, le=1000)
    rpc_max_body_bytes: int = Field(256 * 1024, ge=1024)

    relay_max_per_subject: int = Field(
        20, ge=1, le=10_000, description="Relayed consents a subject may send per window."
    )
    relay_window_s: float = Field(600.0, gt=0, description="The relay rate limit's window.")

    job_workers: int = Field(
        2, ge=1, le=64, description="Jobs run at once: pool processes or LocalCluster workers."
    )
    dask_scheduler: str | None = Field(
        None, description="None: local process pool; 'local': a Dask LocalCluster started with "
        "the gateway; 'tcp://host:8786' (or tls://, ...): that Dask scheduler.",
    )

    @model_validator(mode="after")
    def _check_paths(self) -> GatewaySettings:
        if self.chain_url is not None and not self.chain_url.startswith(("http://", "https://")):
            raise ValueError("chain_url must be an http(s) JSON-RPC URL")
        scheduler = self.dask_scheduler
        if scheduler and scheduler != "local" and "://" not in scheduler:
            raise ValueError("dask_scheduler must be 'local' or a scheduler address (tcp://...)")
        return self

    @property
    def key_path(self) -> Path:
        """The gateway's ML-DSA-65 private key (JWK with the 32-byte seed), mode 0600."""
        return self.data_dir / "gateway-mldsa65.jwk.json"

    @property
    def relayer_key_path(self) -> Path:
        """The Ethereum account that relays citizens' signed consents (pays their gas), 0600."""
        return self.data_dir / "relayer.key"

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL of the store (SQLite in data_dir unless db_url is set)."""
        return self.db_url or f"sqlite:///{(self.data_dir / 'qcity.sqlite3').as_posix()}"
