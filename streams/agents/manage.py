"""Manage agent: apply block-list changes made outside the messages: by hand (opt-outs received
by phone or email), and the consent records of rules/consent_records.py (imported lines, recorded
opt-ins, deactivations, a carrier's opt-out codes).

Commands arrive on `blocklist-commands`, keyed and partitioned by the end user like the block
list, so this worker owns the same end users as the classify agent. Each change is made in the
command's consent scope (the number's, when it names none), written to the table and the audit
history, and published as an opt-out event with its source, reason and actor. A command whose
numbers are not E.164 (or whose scope is malformed) is not applied: it is dead-lettered with the
reason, whoever produced it. A removal lifts every block that speaks for the end user at a
number now in the scope (rules/decide.py): the own entries it lifts are written and recorded in
their history too, under the one opt-out event of the scope. Commands are taken a batch at a
time (an import is many), their writes sent straight to the partition stores and changelogs,
and the batch acknowledged once the broker has every record.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Sequence

from faust.types import EventT

from optout.schemas import DecodeError, Record
from optout.streams.app import app, optout_event_serde, optout_events_topic, produce
from optout.streams.rules.decide import ManualChange, consent_event, decide_manual
from optout.streams.rules.number_settings import scope_settings
from optout.streams.rules.scopes import current_scope
from optout.streams.rules.validate import command_problems
from optout.streams.runtime.batches import batches, handle_in_full
from optout.streams.runtime.dead_letters import send_to_dead_letters
from optout.streams.runtime.transactions import (
    BatchTransactions,
    in_transaction_of,
    transactions_for,
)
from optout.tables.blocklist import blocklist_commands_topic, command_serde, entry_in, write_entry
from optout.tables.history import write_change
from optout.tables.keys import end_user_key
from optout.tables.settings import (
    former_members,
    kinds_of,
    members_of,
    settings_for,
    settings_read,
)

__all__ = ["apply_command", "apply_commands", "manage"]

log = logging.getLogger(__name__)


# Exactly-once (streams/runtime/transactions.py): each batch's changes, events and offsets in one
# transaction per partition number.
transactions = transactions_for("manage", blocklist_commands_topic, writes="blocklist")


@app.agent(blocklist_commands_topic)
async def manage(stream):  # type: ignore[no-untyped-def]
    await settings_read()  # a command's scope and the brand's kinds are read from them
    dead_letter = send_to_dead_letters if transactions is None else transactions.dead_letter
    async for events in batches(stream):  # an import is many commands at once
        await handle_in_full(apply_commands, events, "manage", dead_letter)


async def apply_commands(events: Sequence[EventT]) -> None:
    if transactions is None:
        await _apply(events)
    else:
        await transactions.handle(events, _apply)


# Commands whose changes are in the partition stores but whose records the broker has not
# acknowledged yet. Handled again after the broker failed (at least once), such a command finds
# its change made, so it sends its records again rather than nothing. (With exactly-once, an
# aborted transaction's writes are undone in the stores.)
_unconfirmed: set[str] = set()


async def _apply(events: Sequence[EventT], batch: BatchTransactions | None = None) -> None:
    acks: list[Awaitable] = []
    for event in events:
        with in_transaction_of(batch.of(event) if batch else None):
            acks += await apply_command(event)
    await asyncio.gather(*acks)
    _unconfirmed.clear()


async def apply_command(event: EventT) -> list[Awaitable]:
    """Apply one command; the broker's acknowledgements of what it wrote, to await before the
    command is acknowledged (none when it changed nothing or was dead-lettered)."""
    try:
        command = command_serde.decode(event.value)
    except DecodeError as exc:
        await send_to_dead_letters(event, str(exc))
        return []
    problems = command_problems(command)
    if problems:  # applied, it would block or unblock a key no message or lookup ever uses
        await send_to_dead_letters(event, "invalid block-list command: " + "; ".join(problems))
        return []
    business, end_user = command["business_number"], command["end_user_number"]
    settings = settings_for(business) if business else scope_settings(command["scope"])
    kinds = kinds_of(settings)
    decided = decide_manual(
        command,
        settings,
        lambda scope: entry_in(scope, end_user),
        int(time.time() * 1000),
        former_members,
        members_of,
        kinds,
    )
    if decided is None:
        decided = _unconfirmed_change(command, settings)
    if decided is None:
        log.debug("command %s changes nothing for %s|%s", command["command_id"], business, end_user)
        return []
    _unconfirmed.add(command["command_id"])
    entry, kept, lifted = decided
    acks = [await write_entry(changed) for changed in (entry, *kept, *lifted)]
    change = consent_event(entry, command["requested_at"], kinds=kinds)
    # The one event below speaks for the own entries lifted; each own history says so too.
    for made in (
        change,
        *(consent_event(own, command["requested_at"], kinds=kinds) for own in lifted),
    ):
        if (written := await write_change(made)) is not None:
            acks.append(written)
    if command.get("source") in _ONE_BY_ONE:
        log.info(
            "%s by %s for %s in %s: %s",
            change["action"],
            command["actor"],
            end_user,
            change["scope"],
            command["reason"],
        )
    event_key, encoded = end_user_key(end_user), optout_event_serde.encode(change)
    return [*acks, await produce(optout_events_topic, event_key, encoded)]


def _unconfirmed_change(command: Record, settings: Record) -> ManualChange | None:
    """What a command handled again after a failure wrote before it, to send again."""
    if command["command_id"] not in _unconfirmed:
        return None
    made = entry_in(command.get("scope") or current_scope(settings), command["end_user_number"])
    return (
        ManualChange(made, [], []) if made and made["message_id"] == command["command_id"] else None
    )


# Sources of changes made one at a time, each worth a line in the log (not an import's lines).
_ONE_BY_ONE = frozenset({None, "manual", "web", "opt_in", "carrier"})
