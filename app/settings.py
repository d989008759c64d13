"""Settings, read once from the environment; everything else receives them."""

from __future__ import annotations

import math
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

DEFAULT_DB = "sqlite:///./data/chirp.db"


class SettingsError(ValueError):
    pass


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise SettingsError(f"{name} must be a number, got {raw!r}")
    return value


@dataclass(frozen=True)
class Limits:
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 2_000
    max_cost: int = 25_000
    max_body_bytes: int = 256 * 1024
    max_subscriptions_per_connection: int = 5
    mutations_per_minute: int = 120
    # Paths anyone can call: per client address a minute, and password attempts per account.
    sign_ups_per_minute: int = 10
    log_ins_per_minute: int = 30
    refreshes_per_minute: int = 60
    log_ins_per_account: int = 10  # in LOG_IN_ACCOUNT_WINDOW_S
    anonymous_searches_per_minute: int = 60
    read_points_per_hour: int = 5_000  # per viewer (or client address): see app/extensions.py


DAY_S = 24 * 3600


@dataclass(frozen=True)
class Lifecycle:
    """The data lifecycle's thresholds in seconds (the design's days by default), so tests
    run it in seconds."""

    tweet_grace_s: float = 30 * DAY_S  # a deleted tweet can be restored, then it is purged
    account_cancel_s: float = 30 * DAY_S  # logging in cancels an account's deletion
    account_purge_s: float = 90 * DAY_S  # the account is kept (username taken), then purged
    hot_s: float = 30 * DAY_S  # tweets younger than this are hot (cached in Redis)
    cold_s: float = 365 * DAY_S  # tweets older than this move to the cold archive
    export_ttl_s: float = 7 * DAY_S  # a data export's archive is kept (and its URL works)
    every_s: float = 3600.0  # the worker runs a pass this often; 0: only `chirp lifecycle run`
    batch: int = 200  # entries a step reads at a time


@dataclass(frozen=True)
class Backup:
    """Where backup sets go and how often the worker takes one (app/backup/)."""

    url: str = ""  # empty: file:///<CHIRP_DATA_DIR>/backups, or s3://<media bucket>-backups
    every_s: float = 900.0  # the recovery point: at most this much is lost; 0: only by hand
    # The real engines' sets: a full one (PostgreSQL base backup, Cassandra snapshot) when
    # the newest is older than this, else an incremental one (Cassandra's flushed sstables;
    # PostgreSQL's WAL is archived continuously by its archive_command).
    full_every_s: float = 3600.0
    barman: str = ""  # the folder of the barman-cloud-* commands (empty: on the PATH)
    nodetool: str = "nodetool"  # the command that runs Cassandra's nodetool
    cassandra_data: str = ""  # Cassandra's data_file_directories folder (on this host)


TRACE_EXPORTERS = ("otlp", "console")


@dataclass(frozen=True)
class Tracing:
    """OpenTelemetry traces (app/tracing.py), from the standard OTEL_* variables: off (no
    exporter) unless they ask for them."""

    exporters: tuple[str, ...] = ()  # of TRACE_EXPORTERS; otlp is OTLP/HTTP with protobuf
    endpoint: str = ""  # the OTLP traces URL; empty: the SDK's own (localhost:4318)
    service_name: str = "chirp"

    @property
    def enabled(self) -> bool:
        return bool(self.exporters)


@dataclass(frozen=True)
class Settings:
    users_url: str = DEFAULT_DB
    tweets_url: str = DEFAULT_DB
    cache_url: str = "memory://"
    search_url: str = DEFAULT_DB
    media_url: str = "file:///./data/media"
    queue_url: str = ""  # empty: chosen by storage.registry.queue_url
    secret_key: str = ""
    data_dir: Path = Path("./data")
    env: str = "development"
    execution: str = "compiled"  # compiled | graphql-core | verify (app/compiled.py)
    worker_id: int = 0
    celebrity_followers: int = 10_000
    fan_out_batch: int = 1_000
    worker_concurrency: int = 32
    ready_max_lag_s: float = 30.0
    pg_pool_min: int = 1
    pg_pool_max: int = 10
    reclaim_idle_s: int = 4
    reconcile_window_s: float = 3600.0  # a lost job stream's jobs are rebuilt this far back
    access_token_ttl_s: int = 15 * 60
    refresh_token_ttl_s: int = 30 * 24 * 3600
    run_workers: bool = True
    public_base_url: str = "http://127.0.0.1:8000"
    metrics_token: str = ""  # empty: /metrics is open, except in production (404)
    notification_retention_days: int = 90  # the notifications' TTL (Cassandra) and horizon
    notification_group_window_s: int = 24 * 3600  # an unread group takes actors this long
    view_window_s: float = 6 * 3600  # a viewer's views of one tweet count once per window; 0: off
    view_flush_s: float = 2.0  # buffered views are written to the counters this often
    # Manifests' paths, comma-separated: only their documents (and the web client's) run
    # (app/persisted.py).
    trusted_documents: str = ""
    persisted_query_ttl_s: float = 7 * DAY_S  # an automatic persisted query is kept this long
    public_max_age_s: int = 30  # Cache-Control max-age of an anonymous GET query; 0: never public
    lifecycle: Lifecycle = field(default_factory=Lifecycle)
    limits: Limits = field(default_factory=Limits)
    backup: Backup = field(default_factory=Backup)
    tracing: Tracing = field(default_factory=Tracing)

    @property
    def production(self) -> bool:
        return self.env == "production"

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


def from_env(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    data_dir = Path(env.get("CHIRP_DATA_DIR", "./data"))
    limits = Limits(
        max_depth=_int(env, "CHIRP_MAX_DEPTH", 12),
        max_aliases=_int(env, "CHIRP_MAX_ALIASES", 30),
        max_tokens=_int(env, "CHIRP_MAX_TOKENS", 2_000),
        max_cost=_int(env, "CHIRP_MAX_COST", 25_000),
        max_body_bytes=_int(env, "CHIRP_MAX_BODY_BYTES", 256 * 1024),
        max_subscriptions_per_connection=_int(env, "CHIRP_MAX_SUBSCRIPTIONS", 5),
        mutations_per_minute=_int(env, "CHIRP_MUTATIONS_PER_MINUTE", 120),
        sign_ups_per_minute=_int(env, "CHIRP_SIGN_UPS_PER_MINUTE", 10),
        log_ins_per_minute=_int(env, "CHIRP_LOG_INS_PER_MINUTE", 30),
        refreshes_per_minute=_int(env, "CHIRP_REFRESHES_PER_MINUTE", 60),
        log_ins_per_account=_int(env, "CHIRP_LOG_INS_PER_ACCOUNT", 10),
        anonymous_searches_per_minute=_int(env, "CHIRP_ANONYMOUS_SEARCHES_PER_MINUTE", 60),
        read_points_per_hour=_int(env, "CHIRP_READ_POINTS_PER_HOUR", 5_000),
    )
    settings = Settings(
        users_url=env.get("CHIRP_USERS_URL") or DEFAULT_DB,
        tweets_url=env.get("CHIRP_TWEETS_URL") or DEFAULT_DB,
        cache_url=env.get("CHIRP_CACHE_URL") or "memory://",
        search_url=env.get("CHIRP_SEARCH_URL") or DEFAULT_DB,
        media_url=env.get("CHIRP_MEDIA_URL") or "file:///./data/media",
        queue_url=env.get("CHIRP_QUEUE_URL", ""),
        secret_key=env.get("CHIRP_SECRET_KEY", ""),
        data_dir=data_dir,
        env=env.get("CHIRP_ENV", "development"),
        execution=env.get("CHIRP_EXECUTION", "compiled"),
        worker_id=_int(env, "CHIRP_WORKER_ID", 0),
        celebrity_followers=_int(env, "CHIRP_CELEBRITY_FOLLOWERS", 10_000),
        fan_out_batch=max(1, _int(env, "CHIRP_FANOUT_BATCH", 1_000)),
        worker_concurrency=max(1, _int(env, "CHIRP_WORKER_CONCURRENCY", 32)),
        ready_max_lag_s=max(1, _int(env, "CHIRP_READY_MAX_LAG_S", 30)),
        pg_pool_min=max(0, _int(env, "CHIRP_PG_POOL_MIN", 1)),
        pg_pool_max=max(1, _int(env, "CHIRP_PG_POOL_MAX", 10)),
        reclaim_idle_s=max(1, _int(env, "CHIRP_RECLAIM_IDLE_S", 4)),
        reconcile_window_s=max(0.0, _float(env, "CHIRP_RECONCILE_WINDOW_S", 3600.0)),
        access_token_ttl_s=_int(env, "CHIRP_ACCESS_TOKEN_TTL", 15 * 60),
        run_workers=env.get("CHIRP_RUN_WORKERS", "1") not in ("0", "false", "no"),
        public_base_url=env.get("CHIRP_PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
        metrics_token=env.get("CHIRP_METRICS_TOKEN", ""),
        notification_retention_days=max(1, _int(env, "CHIRP_NOTIFICATION_RETENTION_DAYS", 90)),
        notification_group_window_s=max(1, _int(env, "CHIRP_NOTIFICATION_GROUP_WINDOW_S", 86400)),
        view_window_s=max(0, _int(env, "CHIRP_VIEW_WINDOW_S", 6 * 3600)),
        view_flush_s=max(0.05, _float(env, "CHIRP_VIEW_FLUSH_S", 2.0)),
        trusted_documents=env.get("CHIRP_TRUSTED_DOCUMENTS", ""),
        persisted_query_ttl_s=max(1.0, _float(env, "CHIRP_PERSISTED_QUERY_TTL_S", 7 * DAY_S)),
        public_max_age_s=max(0, _int(env, "CHIRP_PUBLIC_MAX_AGE_S", 30)),
        backup=Backup(
            url=env.get("CHIRP_BACKUP_URL", ""),
            every_s=max(0.0, _float(env, "CHIRP_BACKUP_EVERY_S", 900.0)),
            full_every_s=max(0.0, _float(env, "CHIRP_BACKUP_FULL_EVERY_S", 3600.0)),
            barman=env.get("CHIRP_BACKUP_BARMAN", ""),
            nodetool=env.get("CHIRP_BACKUP_NODETOOL", "nodetool"),
            cassandra_data=env.get("CHIRP_BACKUP_CASSANDRA_DATA", ""),
        ),
        lifecycle=Lifecycle(
            tweet_grace_s=max(0.0, _float(env, "CHIRP_TWEET_GRACE_S", 30 * DAY_S)),
            account_cancel_s=max(0.0, _float(env, "CHIRP_ACCOUNT_CANCEL_S", 30 * DAY_S)),
            account_purge_s=max(0.0, _float(env, "CHIRP_ACCOUNT_PURGE_S", 90 * DAY_S)),
            hot_s=max(0.0, _float(env, "CHIRP_HOT_S", 30 * DAY_S)),
            cold_s=max(0.0, _float(env, "CHIRP_COLD_S", 365 * DAY_S)),
            export_ttl_s=max(1.0, _float(env, "CHIRP_EXPORT_TTL_S", 7 * DAY_S)),
            every_s=max(0.0, _float(env, "CHIRP_LIFECYCLE_EVERY_S", 3600.0)),
            batch=max(1, _int(env, "CHIRP_LIFECYCLE_BATCH", 200)),
        ),
        limits=limits,
        tracing=_tracing(env),
    )
    if not 0 <= settings.worker_id <= 1023:
        raise SettingsError(f"CHIRP_WORKER_ID must be within 0..1023, got {settings.worker_id}")
    if settings.execution not in ("compiled", "graphql-core", "verify"):
        raise SettingsError(
            f"CHIRP_EXECUTION must be compiled, graphql-core or verify, got {settings.execution!r}"
        )
    return settings


def _tracing(env: Mapping[str, str]) -> Tracing:
    """OTEL_SDK_DISABLED=true wins; then OTEL_TRACES_EXPORTER (otlp, console or none, or a
    list); without it, an OTLP endpoint turns otlp on. The SDK reads the rest of its own
    variables (headers, timeouts, batching, sampler, resource attributes) itself."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return Tracing()
    base = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip().rstrip("/")
    traces = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    endpoint = traces or (f"{base}/v1/traces" if base else "")
    raw = env.get("OTEL_TRACES_EXPORTER", "")
    named = [n.strip().lower() for n in raw.split(",") if n.strip()]
    named = named or (["otlp"] if endpoint else [])
    unknown = sorted(set(named) - {*TRACE_EXPORTERS, "none"})
    if unknown:
        raise SettingsError(f"OTEL_TRACES_EXPORTER must be otlp, console or none, got {raw!r}")
    if "none" in named or not named:
        return Tracing()
    exporters = tuple(dict.fromkeys(named))
    protocol = env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get(
        "OTEL_EXPORTER_OTLP_PROTOCOL", ""
    )
    if "otlp" in exporters and protocol.strip() not in ("", "http/protobuf"):
        raise SettingsError(f"Chirp exports OTLP as http/protobuf only, not {protocol!r}")
    return Tracing(exporters, endpoint, env.get("OTEL_SERVICE_NAME", "").strip() or "chirp")


def redact_urls(urls: str) -> str:
    """A URL, or a comma-separated list of them, with every user:password masked, for logs
    (`postgresql://u:pw@h/db,postgresql://u@h2/db` -> `postgresql://***@h/db,...`)."""
    return ",".join(_redact_one(url) for url in urls.split(","))


def _redact_one(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        authority = "***@" + authority.rsplit("@", 1)[1]
    return f"{scheme}{sep}{authority}{slash}{path}"


def ensure_secret_key(settings: Settings) -> Settings:
    """Use CHIRP_SECRET_KEY, or a key generated once and kept in the data folder."""
    if settings.secret_key:
        return settings
    key_file = settings.data_dir / "secret.key"
    if not key_file.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    return replace(settings, secret_key=key_file.read_text().strip())
