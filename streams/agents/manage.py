"""Manage agent: apply hand-made block-list changes (opt-outs received by phone or email).

Commands arrive on `blocklist-commands`, keyed and partitioned by the end user like the block
list, so this worker owns the same end users as the classify agent. Each change is made in the
command's consent scope (the number's, when it names none), written to the table and the audit
history, and published as an opt-out event with source `manual`, reason and actor.
"""

from __future__ import annotations

import logging
import time

from faust.types import EventT

from optout.schemas import DecodeError
from optout.streams.app import app, optout_event_serde, optout_events_topic
from optout.streams.rules.decide import consent_event, decide_manual
from optout.streams.runtime.batches import handle_each
from optout.streams.runtime.dead_letters import send_to_dead_letters
from optout.tables.blocklist import blocklist_commands_topic, command_serde, entry_in, put_entry
from optout.tables.history import record_change
from optout.tables.keys import end_user_key
from optout.tables.settings import former_members, settings_for

__all__ = ["apply_command", "manage"]

log = logging.getLogger(__name__)


@app.agent(blocklist_commands_topic)
async def manage(stream):  # type: ignore[no-untyped-def]
    await handle_each(stream, apply_command, "manage")


async def apply_command(event: EventT) -> None:
    try:
        command = command_serde.decode(event.value)
    except DecodeError as exc:
        await send_to_dead_letters(event, str(exc))
        return
    business, end_user = command["business_number"], command["end_user_number"]
    decided = decide_manual(
        command,
        settings_for(business),
        lambda scope: entry_in(scope, end_user),
        int(time.time() * 1000),
        former_members,
    )
    if decided is None:
        log.info("command %s changes nothing for %s|%s", command["command_id"], business, end_user)
        return
    entry, kept = decided
    for changed in (entry, *kept):
        put_entry(changed)
    change = consent_event(entry, command["requested_at"])
    record_change(change)
    sent = await optout_events_topic.send(
        key=end_user_key(end_user), value=optout_event_serde.encode(change)
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
