"""Manage agent: apply hand-made block-list changes (opt-outs received by phone or email).

Commands arrive on `blocklist-commands`, keyed and partitioned by the end user like the block
list, so this worker owns the same end users as the classify agent. Each change is made in the
command's consent scope (the number's, when it names none), written to the table and the audit
history, and published as an opt-out event with source `manual`, reason and actor. A command
whose numbers are not E.164 (or whose scope is malformed) is not applied: it is dead-lettered
with the reason, whoever produced it. A removal lifts every block that speaks for the end user
at a number now in the scope (rules/decide.py): the own entries it lifts are written and
recorded in their history too, under the one opt-out event of the scope.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from faust.types import EventT

from optout.schemas import DecodeError
from optout.streams.app import app, optout_event_serde, optout_events_topic, produce
from optout.streams.rules.decide import consent_event, decide_manual
from optout.streams.rules.validate import command_problems
from optout.streams.runtime.batches import handle_each
from optout.streams.runtime.dead_letters import send_to_dead_letters
from optout.streams.runtime.transactions import (
    BatchTransactions,
    in_transaction_of,
    transactions_for,
)
from optout.tables.blocklist import blocklist_commands_topic, command_serde, entry_in, put_entry
from optout.tables.history import record_change
from optout.tables.keys import end_user_key
from optout.tables.settings import former_members, members_of, settings_for

__all__ = ["apply_command", "apply_command_once", "manage"]

log = logging.getLogger(__name__)


# Exactly-once (streams/runtime/transactions.py): a command's changes, event and offset in one
# transaction.
transactions = transactions_for("manage", blocklist_commands_topic, writes="blocklist")


@app.agent(blocklist_commands_topic)
async def manage(stream):  # type: ignore[no-untyped-def]
    dead_letter = send_to_dead_letters if transactions is None else transactions.dead_letter
    await handle_each(stream, apply_command_once, "manage", dead_letter)


async def apply_command_once(event: EventT) -> None:
    if transactions is None:
        await apply_command(event)
    else:
        await transactions.handle([event], _apply_in_transaction)


async def _apply_in_transaction(events: Sequence[EventT], batch: BatchTransactions) -> None:
    for event in events:
        with in_transaction_of(batch.of(event)):
            await apply_command(event)


async def apply_command(event: EventT) -> None:
    try:
        command = command_serde.decode(event.value)
    except DecodeError as exc:
        await send_to_dead_letters(event, str(exc))
        return
    problems = command_problems(command)
    if problems:  # applied, it would block or unblock a key no message or lookup ever uses
        await send_to_dead_letters(event, "invalid block-list command: " + "; ".join(problems))
        return
    business, end_user = command["business_number"], command["end_user_number"]
    decided = decide_manual(
        command,
        settings_for(business),
        lambda scope: entry_in(scope, end_user),
        int(time.time() * 1000),
        former_members,
        members_of,
    )
    if decided is None:
        log.info("command %s changes nothing for %s|%s", command["command_id"], business, end_user)
        return
    entry, kept, lifted = decided
    for changed in (entry, *kept, *lifted):
        put_entry(changed)
    change = consent_event(entry, command["requested_at"])
    record_change(change)
    for own in lifted:  # the one event below speaks for them; each own history says so too
        record_change(consent_event(own, command["requested_at"]))
    sent = await produce(
        optout_events_topic, end_user_key(end_user), optout_event_serde.encode(change)
    )
    await sent
    log.info(
        "%s by %s for %s in %s: %s",
        change["action"],
        command["actor"],
        end_user,
        change["scope"],
        command["reason"],
    )
