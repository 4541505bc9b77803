"""For send services written in Python: a local copy of the block list, answered in-process.

    reader = BlocklistReader("kafka:9092", "/var/lib/my-sender/blocklist")
    reader.start_in_thread()                 # or: await reader.run() in your own event loop
    if not reader.wait_until_caught_up(timeout=60):
        ...                                  # no answer yet: send nothing, try again later
    if reader.is_blocked("+12125550100", "+14155550100"): ...
    reader.is_blocked("+12125550100", "+14155550100", kind="informational")  # one kind
    reader.consent("+12125550100", "+14155550100")  # blocked?, in which scope, the deciding entry
    reader.lag()                              # records not yet applied, per partition

It follows the compacted `blocklist-changelog` topic from the beginning into RocksDB (rocksdict)
and answers from disk-backed memory-mapped pages, so memory stays flat as the list grows. It
follows `number-settings` and `brand-settings` too, to answer for each number's consent scope
and its brand's kinds of message as the workers do (streams/rules/scopes.py, kinds.py).

Until the copy has read the three topics to the ends they had when it started, it has no answer:
`is_blocked`, `consent`, `entry` and the listings raise ConsentUnknown, never "not blocked".
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import cast

from rocksdict import BlockBasedOptions, Cache, Options, Rdict

from optout.schemas import AvroSerde, Record
from optout.schemas.registry import SchemaRegistry
from optout.streams.exceptions import ConsentUnknown
from optout.streams.rules.kinds import Kinds, kinds_of_brand
from optout.streams.rules.lookup_answers import pair_problem
from optout.streams.rules.scopes import (
    ALL_NUMBERS,
    Consent,
    consent,
    current_scope,
    scope_id,
    speaks_alone,
)
from optout.streams.topics import BLOCKLIST_CHANGELOG_TOPIC, BRAND_SETTINGS_TOPIC, SETTINGS_TOPIC
from optout.tables.client.topic_reader import TopicReader
from optout.tables.keys import pair_key, scope_prefix

__all__ = ["BlocklistReader"]

BLOCKED, NOT_BLOCKED = b"\x01", b"\x00"


def _bounded_memory_options() -> Options:
    """Small write buffers and block cache: memory stays flat however long the list grows."""
    options = Options(raw_mode=True)
    options.set_write_buffer_size(4 * 1024**2)
    options.set_max_write_buffer_number(2)
    table = BlockBasedOptions()
    table.set_block_cache(Cache(8 * 1024**2))
    options.set_block_based_table_factory(table)
    return options


class BlocklistReader:
    """`is_blocked(number, sender)` from a local copy that follows the block list's changelog."""

    def __init__(
        self,
        bootstrap: str,
        path: str | Path,
        schema_registry: str | SchemaRegistry | None = None,
        fetch_wait_ms: int = 200,
    ) -> None:
        if isinstance(schema_registry, str):
            schema_registry = SchemaRegistry(schema_registry)
        self._serde = AvroSerde("blocklist_entry", BLOCKLIST_CHANGELOG_TOPIC, schema_registry)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = Rdict(str(path), options=_bounded_memory_options())
        self._blocked = sum(1 for value in self._db.values() if value[:1] == BLOCKED)
        self._reader = TopicReader(
            bootstrap, BLOCKLIST_CHANGELOG_TOPIC, self, self._compact, fetch_wait_ms
        )
        settings_serde = AvroSerde("number_settings", SETTINGS_TOPIC, schema_registry)
        self._settings: dict[bytes, Record] = {}
        self._settings_reader = TopicReader(
            bootstrap, SETTINGS_TOPIC, self._settings, settings_serde.decode, fetch_wait_ms
        )
        brand_serde = AvroSerde("brand_settings", BRAND_SETTINGS_TOPIC, schema_registry)
        self._brands: dict[bytes, Record] = {}
        self._brands_reader = TopicReader(
            bootstrap, BRAND_SETTINGS_TOPIC, self._brands, brand_serde.decode, fetch_wait_ms
        )
        self._caught_up = threading.Event()
        self._thread: threading.Thread | None = None

    # -- answers ---------------------------------------------------------------------------
    def is_blocked(self, number: str, sender: str, kind: str | None = None) -> bool:
        """Whether `number` may not text `sender` a message of `kind` (None: of any kind that
        needs consent); ConsentUnknown until caught up."""
        self._check_caught_up(number, sender)
        if kind is not None:
            return self.kinds(number).blocked(self.consent(number, sender), kind)
        settings = self._settings.get(number.encode())
        alone = settings is None or speaks_alone(settings)
        if (
            alone
            and self._db.get(pair_key(ALL_NUMBERS, sender)) is None
            and not (settings and self.kinds(number).recorded_consent)
        ):
            value = self._db.get(pair_key(number, sender))  # the number alone: one flag byte
            return value is not None and value[:1] == BLOCKED
        return self.kinds(number).blocked(self.consent(number, sender), None)

    def consent(self, number: str, sender: str) -> Consent:
        """Whether `number` may text `sender`, in which scope, and the entry that decides it;
        ConsentUnknown until caught up."""
        self._check_caught_up(number, sender)
        return consent(self.settings_of(number), lambda scope: self.entry_in(scope, sender))

    def entry(self, number: str, sender: str) -> Record | None:
        """The block-list entry that decides whether `number` may text `sender` (when and why),
        or None."""
        return self.consent(number, sender).entry

    def kinds(self, number: str) -> Kinds:
        """The kinds of message of the number's brand."""
        brand_id = self.settings_of(number).get("brand_id")
        return kinds_of_brand(self.brand(brand_id) if brand_id else None)

    def scope_of_number(self, number: str) -> str:
        return current_scope(self.settings_of(number))

    def blocked_senders(
        self, number: str, after: str | None = None, limit: int = 100
    ) -> list[dict]:
        """A page of the senders blocked in a number's scope, in sender order, after `after`;
        ConsentUnknown until caught up."""
        self._check_caught_up(number)
        prefix = scope_prefix(scope_id(self.scope_of_number(number)))
        start = prefix + (after.encode() + b"\x00" if after else b"")
        page: list[dict] = []
        items = cast(Iterable[tuple[bytes, bytes]], self._db.items(from_key=start))  # raw mode
        for key, value in items:
            if not key.startswith(prefix) or len(page) >= limit:
                break
            if value[:1] == BLOCKED:
                entry = self._serde.decode(value[1:])
                page.append({"sender": key[len(prefix) :].decode(), "since": entry["since"],
                             "texted": entry["business_number"], "source": entry["source"],
                             "keyword": entry["keyword"], "reason": entry["reason"],
                             "allowed_kinds": entry["allowed_kinds"]})  # fmt: skip
        return page

    def all_blocked_senders(self, number: str) -> list[dict]:
        """Every sender blocked in a number's scope, in sender order."""
        senders: list[dict] = []
        after = None
        while page := self.blocked_senders(number, after, 1000):
            senders += page
            after = page[-1]["sender"]
        return senders

    @property
    def blocked_count(self) -> int:
        """How many pairs are blocked in this copy."""
        return self._blocked

    def lag(self) -> dict[int, int]:
        """Per partition, how many changelog records are not applied yet (empty: not started)."""
        return dict(self._reader.lag)

    @property
    def caught_up(self) -> bool:
        return self._caught_up.is_set()

    # -- following -------------------------------------------------------------------------
    async def run(self) -> None:
        """Follow the changelog and the settings until cancelled (in the caller's event loop)."""
        watcher = asyncio.ensure_future(self._watch_caught_up())
        try:
            await asyncio.gather(
                self._reader.run(), self._settings_reader.run(), self._brands_reader.run()
            )
        finally:
            watcher.cancel()

    def start_in_thread(self) -> None:
        """Follow the changelog in a daemon thread, for programs without an event loop."""
        self._thread = threading.Thread(target=asyncio.run, args=(self.run(),), daemon=True)
        self._thread.start()

    def wait_until_caught_up(self, timeout: float | None = None) -> bool:
        """Whether the copy caught up within `timeout`: False means it has no answer yet."""
        return self._caught_up.wait(timeout)

    def _check_caught_up(self, *numbers: str) -> None:
        """ValueError for a number that is not E.164 (it would be another, never-blocked key);
        ConsentUnknown until the copy has caught up."""
        if problem := pair_problem(*numbers):
            raise ValueError(problem)
        if not self._caught_up.is_set():
            lag = sum(self.lag().values())
            raise ConsentUnknown(
                "the local copy of the block list has not read the changelog and the settings "
                f"to their ends yet ({lag} records known to be missing); try again"
            )

    def close(self) -> None:
        self._db.close()

    async def _watch_caught_up(self) -> None:
        await self._settings_reader.caught_up.wait()
        await self._brands_reader.caught_up.wait()
        await self._reader.caught_up.wait()
        self._caught_up.set()

    def settings_of(self, number: str) -> Record:
        """The number's settings as stored (only its number, when it has none)."""
        return self._settings.get(number.encode()) or {"number": number}

    def brand(self, brand_id: str) -> Record | None:
        """A brand's stored settings, if it stored any."""
        return self._brands.get(brand_id.encode())

    def entry_in(self, scope: str, sender: str) -> Record | None:
        """The end user's entry in a scope."""
        value = self._db.get(pair_key(scope_id(scope), sender))
        return None if value is None else self._serde.decode(value[1:])

    # -- the store interface TopicReader writes to -----------------------------------------
    def _compact(self, value: bytes) -> bytes:
        """One flag byte in front of the Avro record: is_blocked reads a byte, decodes nothing."""
        return (BLOCKED if self._serde.decode(value)["blocked"] else NOT_BLOCKED) + value

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._count_change(self._db.get(key), value)
        self._db[key] = value

    def pop(self, key: bytes, default: object = None) -> object:
        value = self._db.get(key)
        if value is not None:
            self._count_change(value, None)
            del self._db[key]
        return default if value is None else value

    def _count_change(self, old: bytes | None, new: bytes | None) -> None:
        was_blocked = old is not None and old[:1] == BLOCKED
        self._blocked += (new is not None and new[:1] == BLOCKED) - was_blocked
