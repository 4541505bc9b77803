"""Everything configurable, read once from environment variables (topic names: topics.py)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from optout.streams.topics import RETRY_TIERS

__all__ = [
    "AGENT_MODULES",
    "BENCH_AGENT_MODULES",
    "Config",
    "EMBEDDED_SESSION_TIMEOUT_SECONDS",
    "KAFKA_SESSION_TIMEOUT_SECONDS",
    "config",
]

# Agents a worker can run, by the name `optout worker --agents` takes, with the web views that
# answer from their tables.
AGENT_MODULES = {
    "classify": (
        "optout.streams.agents.classify",
        "optout.streams.agents.manage",
        # The send gate reads the block list where it is, in the end user's partition.
        "optout.streams.agents.gate",
        "optout.streams.agents.release_held",
        "optout.tables.views.routes",
        "optout.console.views",
    ),
    "reply": ("optout.streams.agents.deliver_reply", "optout.streams.agents.retry_replies"),
    "webhook": ("optout.streams.agents.deliver_webhook", "optout.streams.agents.retry_webhooks"),
    # Apart from the gate: a slow carrier must not hold up gating (or classifying) in a worker.
    "send": ("optout.streams.agents.deliver_send", "optout.streams.agents.retry_sends"),
}
# Agents only `optout bench pipeline` runs: the pipeline's two hops doing no work.
BENCH_AGENT_MODULES = {
    "bench-hops": ("optout.streams.bench.faust_hops",),
    "bench-one-hop": ("optout.streams.bench.faust_one_hop",),
}


# The embedded broker holds every group join for half the session timeout, and a worker restarted
# after kill -9 waits for its old member to expire: a short timeout there keeps start-up and
# failover to seconds. Apache Kafka joins after group.initial.rebalance.delay.ms (3 s) instead.
EMBEDDED_SESSION_TIMEOUT_SECONDS = 4.0
KAFKA_SESSION_TIMEOUT_SECONDS = 60.0


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def _flag(name: str, default: bool = False) -> bool:
    return _env(name, str(default)).lower() in ("1", "true", "yes", "on")


def _tokens(name: str) -> dict[str, str]:
    """Token -> name, from "alice=tok1,tok2"."""
    tokens = {}
    for item in filter(None, (i.strip() for i in _env(name).split(","))):
        who, _, token = item.rpartition("=")
        tokens[token] = who or "admin"
    return tokens


def _delays(name: str, default: str) -> tuple[float, ...]:
    delays = tuple(float(d) for d in _env(name, default).split(","))
    if len(delays) != RETRY_TIERS or any(d <= 0 for d in delays):
        raise ValueError(
            f"{name} must be {RETRY_TIERS} positive numbers of seconds, like {default}"
        )
    return delays


@dataclass(frozen=True)
class Config:
    """Service settings; each field has an OPTOUT_* environment variable (see README)."""

    broker_url: str = field(default_factory=lambda: _env("OPTOUT_BROKER_URL"))
    schema_registry_url: str = field(default_factory=lambda: _env("OPTOUT_SCHEMA_REGISTRY_URL"))
    partitions: int = field(default_factory=lambda: int(_env("OPTOUT_PARTITIONS", "4")))
    replication_factor: int = field(
        default_factory=lambda: int(_env("OPTOUT_REPLICATION_FACTOR", "1"))
    )
    agents: tuple[str, ...] = field(
        default_factory=lambda: tuple(
            sorted(a for a in _env("OPTOUT_AGENTS", ",".join(AGENT_MODULES)).split(",") if a)
        )
    )
    app_id: str = field(default_factory=lambda: _env("OPTOUT_APP_ID", "optout"))
    data_dir: Path = field(
        default_factory=lambda: Path(_env("OPTOUT_DATA_DIR", ".optout/data")).absolute()
    )
    web_host: str = field(default_factory=lambda: _env("OPTOUT_WEB_HOST", "127.0.0.1"))
    web_port: int = field(default_factory=lambda: int(_env("OPTOUT_WEB_PORT", "6066")))
    web_url: str = field(default_factory=lambda: _env("OPTOUT_WEB_URL"))
    carrier_api_url: str = field(
        default_factory=lambda: _env("OPTOUT_CARRIER_API_URL", "http://127.0.0.1:6070/v1/messages")
    )
    default_webhook_url: str = field(default_factory=lambda: _env("OPTOUT_DEFAULT_WEBHOOK_URL"))
    default_brand_name: str = field(
        default_factory=lambda: _env("OPTOUT_DEFAULT_BRAND", "this business")
    )
    default_help_contact: str = field(default_factory=lambda: _env("OPTOUT_DEFAULT_HELP_CONTACT"))
    # How long the consent records (opt-out events, commands, results, alerts) are kept: the
    # TCPA's limitation period is four years.
    consent_retention_days: int = field(
        default_factory=lambda: int(_env("OPTOUT_CONSENT_RETENTION_DAYS", "1461"))
    )
    # How often a worker looks for review items past their deadline, to raise alerts.
    review_watch_s: float = field(
        default_factory=lambda: float(_env("OPTOUT_REVIEW_WATCH_SECONDS", "60"))
    )
    # The public opt-out page: form posts per client address a minute (a burst of as many).
    web_opt_out_per_minute: int = field(
        default_factory=lambda: int(_env("OPTOUT_WEB_OPT_OUT_PER_MINUTE", "5"))
    )
    # Error codes of a carrier's refusal that say the recipient opted out with the carrier: the
    # send's end user is then blocked at its number too (Twilio 21610, Telnyx 40300).
    carrier_opt_out_codes: frozenset[str] = field(
        default_factory=lambda: frozenset(
            c.strip()
            for c in _env("OPTOUT_CARRIER_OPT_OUT_CODES", "21610,40300").split(",")
            if c.strip()
        )
    )
    http_timeout: float = field(
        default_factory=lambda: float(_env("OPTOUT_HTTP_TIMEOUT_SECONDS", "10"))
    )
    retry_delays: tuple[float, ...] = field(
        default_factory=lambda: _delays("OPTOUT_RETRY_DELAYS_SECONDS", "10,60,300")
    )
    max_attempts: int = field(
        default_factory=lambda: int(_env("OPTOUT_DELIVERY_MAX_ATTEMPTS", "5"))
    )
    per_destination_concurrency: int = field(
        default_factory=lambda: int(_env("OPTOUT_WEBHOOK_PER_DESTINATION_CONCURRENCY", "4"))
    )
    delivery_concurrency: int = field(
        default_factory=lambda: int(_env("OPTOUT_DELIVERY_CONCURRENCY", "32"))
    )
    webhook_allow_http: bool = field(default_factory=lambda: _flag("OPTOUT_WEBHOOK_ALLOW_HTTP"))
    webhook_allow_private: bool = field(
        default_factory=lambda: _flag("OPTOUT_WEBHOOK_ALLOW_PRIVATE")
    )
    webhook_allowed_hosts: frozenset[str] = field(
        default_factory=lambda: frozenset(
            h.strip() for h in _env("OPTOUT_WEBHOOK_ALLOWED_HOSTS").split(",") if h.strip()
        )
    )
    default_webhook_secret: str = field(
        default_factory=lambda: _env("OPTOUT_DEFAULT_WEBHOOK_SECRET")
    )
    broker_wait_seconds: float = field(
        default_factory=lambda: float(_env("OPTOUT_BROKER_WAIT_SECONDS", "0"))
    )
    # How long a lookup waits for classify to handle the inbound messages on the broker when it
    # was asked (tables/blocklist.py: `current_consents`) before answering 503.
    lookup_wait_s: float = field(
        default_factory=lambda: float(_env("OPTOUT_LOOKUP_WAIT_SECONDS", "2"))
    )
    commit_interval: float = field(
        default_factory=lambda: float(_env("OPTOUT_COMMIT_INTERVAL_SECONDS", "2.8"))
    )
    session_timeout: float = field(
        default_factory=lambda: float(
            _env("OPTOUT_SESSION_TIMEOUT_SECONDS")
            or (
                EMBEDDED_SESSION_TIMEOUT_SECONDS
                if _flag("OPTOUT_EMBEDDED_BROKER")
                else KAFKA_SESSION_TIMEOUT_SECONDS
            )
        )
    )
    # Workers that keep a warm copy of each table partition they do not own, to take over fast.
    standby_replicas: int = field(default_factory=lambda: int(_env("OPTOUT_STANDBY_REPLICAS", "1")))
    # The classify agent takes what has arrived, up to batch_size messages, and wait
    # for the broker once per batch.
    batch_size: int = field(default_factory=lambda: int(_env("OPTOUT_BATCH_SIZE", "500")))
    # Message and reply ids are kept for deduplication this long (carriers redeliver for hours to
    # days), and pruned at most this often per partition (streams/runtime/pruning.py).
    dedupe_retention_s: float = field(
        default_factory=lambda: float(_env("OPTOUT_DEDUPE_RETENTION_HOURS", "72")) * 3600
    )
    prune_interval_s: float = field(
        default_factory=lambda: float(_env("OPTOUT_PRUNE_INTERVAL_SECONDS", "60"))
    )
    # At most this much is fetched per partition at a time while processing: 1 MiB made the
    # one-hop pipeline 40-50% faster than 256 KiB (10,526 against 7,153 events/s).
    consumer_max_fetch_bytes: int = field(
        default_factory=lambda: int(_env("OPTOUT_CONSUMER_MAX_FETCH_KB", "1024")) * 1024
    )
    # At most this much is fetched at a time when a worker rebuilds its tables from their
    # changelogs (streams/runtime/table_prefill.py): its memory stays flat as the list grows.
    restore_fetch_bytes: int = field(
        default_factory=lambda: int(_env("OPTOUT_RESTORE_FETCH_KB", "256")) * 1024
    )
    # Read every table's changelog in bulk before Faust starts (streams/runtime/table_prefill.py).
    prefill_tables: bool = field(default_factory=lambda: _flag("OPTOUT_PREFILL_TABLES", True))
    # How long the producer waits to fill a request: fewer, larger requests at a small latency.
    producer_linger: float = field(
        default_factory=lambda: float(_env("OPTOUT_PRODUCER_LINGER_MS", "2")) / 1000
    )
    # Bearer tokens, "name=token" or "token" (named "admin"), comma-separated.
    admin_tokens: dict[str, str] = field(default_factory=lambda: _tokens("OPTOUT_ADMIN_TOKENS"))
    lookup_tokens: dict[str, str] = field(default_factory=lambda: _tokens("OPTOUT_LOOKUP_TOKENS"))
    lookups_need_token: bool = field(default_factory=lambda: _flag("OPTOUT_LOOKUPS_REQUIRE_TOKEN"))
    # "exactly_once": on Apache Kafka, classify commits what it makes of a batch and the batch's
    # offsets in Kafka transactions, and the worker reads committed records only
    # (streams/runtime/transactions.py). The embedded broker has no transactions.
    processing_guarantee: str = field(
        default_factory=lambda: _env("OPTOUT_PROCESSING_GUARANTEE", "at_least_once")
    )
    # Set by `optout up`/`worker` when they start the embedded broker (and by tests that do).
    embedded_broker: bool = field(default_factory=lambda: _flag("OPTOUT_EMBEDDED_BROKER"))
    # The worker's event loop: uvloop (7,544 against 6,780 events/s with asyncio's, same
    # afternoon) or "asyncio".
    event_loop: str = field(default_factory=lambda: _env("OPTOUT_EVENT_LOOP", "uvloop"))
    log_level: str = field(default_factory=lambda: _env("OPTOUT_LOG_LEVEL", "info"))
    log_format: str = field(default_factory=lambda: _env("OPTOUT_LOG_FORMAT", "text"))

    @property
    def exactly_once(self) -> bool:
        return self.processing_guarantee == "exactly_once"

    @property
    def group_id(self) -> str:
        """One consumer group per set of agents, so workers running different agents never mix."""
        return f"{self.app_id}-{'-'.join(self.agents)}"

    @property
    def canonical_url(self) -> str:
        """The URL other workers use to route block-list lookups to this one."""
        return self.web_url or f"http://{self.web_host}:{self.web_port}"


config = Config()
