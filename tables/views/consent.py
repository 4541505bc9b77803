"""The HTTP API of consent records (rules/consent_records.py): imports of opt-out and opt-in lists,
deactivation files, and recorded opt-ins. Admin only.

An import is sent in parts of at most MAX_LINES lines, each line with its line number in the
file. Each part is planned against this worker's full copy of the block list (503 until it has
caught up) and the lines before in the part: what each line would change, or why it is refused
(the command line sends each end user's lines in one part, where it can). With "apply", every
line that is not refused is then sent to `blocklist-commands`, even one the copy says changes
nothing: the manage agent decides again against the table itself, which the copy may trail, and
a line that changes nothing there is not applied.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from faust.web import Request, Response, View

from optout.schemas import Record
from optout.streams.app import app, produce
from optout.streams.exceptions import ConsentUnknown
from optout.streams.rules.consent_records import (
    OUTCOMES,
    deactivation_command,
    import_command,
    opt_in_command,
    outcome,
)
from optout.streams.rules.kinds import kinds_of_brand
from optout.streams.rules.number_settings import scope_settings
from optout.streams.rules.scopes import scope_of
from optout.streams.web.auth import admin_request
from optout.tables import full_copy
from optout.tables.blocklist import blocklist_commands_topic, command_serde
from optout.tables.client.blocklist_reader import BlocklistReader
from optout.tables.keys import end_user_key

__all__ = ["DeactivationsView", "ImportView", "MAX_LINES", "OptInsView"]

MAX_LINES = 5000
MAX_LINE_NUMBER = 2**31 - 1
# Of each outcome, the lines an answer shows as examples.
EXAMPLES = 5

MakeCommand = Callable[[Mapping[str, object], str, str, int], tuple[Record | None, str | None]]


class _FileView(View):
    """POST {"file": NAME, "lines": [{"line": N, ...fields}], "apply": false}."""

    make_command: MakeCommand

    async def post(self, request: Request) -> Response:
        actor, body = await admin_request(request)
        problem = _body_problem(body)
        if problem:
            return self.json({"error": problem}, status=400)
        reader = full_copy.reader
        if reader is None or not reader.caught_up:
            raise ConsentUnknown("this worker's copy of the block list is still being read")
        now_ms = int(time.time() * 1000)
        counts: Counter[str] = Counter()
        plan = _Plan(reader)
        refused, examples, commands = [], [], []
        for line in body["lines"]:
            origin = f"{body['file']}:{line['line']}"
            command, why = type(self).make_command(line, origin, actor, now_ms)
            if command is None:
                refused.append({"line": line["line"], "reason": why})
                continue
            result = plan.outcome(command, now_ms)
            counts[result] += 1
            if counts[result] <= EXAMPLES:
                target = command["business_number"] or command["scope"]
                examples.append({"line": line["line"], "outcome": result, "number": target,
                                 "user": command["end_user_number"],
                                 "action": command["action"]})  # fmt: skip
            commands.append(command)
        if body.get("apply"):
            acks = [
                await produce(
                    blocklist_commands_topic,
                    end_user_key(command["end_user_number"]),
                    command_serde.encode(command),
                )
                for command in commands
            ]
            await asyncio.gather(*acks)  # applied means on the broker, in order per end user
        return self.json(
            {
                "file": body["file"],
                "lines": len(body["lines"]),
                "outcomes": {name: counts[name] for name in OUTCOMES},
                "refused": refused,
                "examples": examples,
                "applied": len(commands) if body.get("apply") else 0,
            }
        )


@app.page("/v1/consent/import")
class ImportView(_FileView):
    """An imported list of opt-outs and opt-ins: lines with number (a business number, or a
    scope), user, action (opt_out, opt_in), at (ISO 8601), source, and optionally kind, note,
    disclosure_text, disclosure_version."""

    make_command = staticmethod(import_command)


@app.page("/v1/consent/deactivations")
class DeactivationsView(_FileView):
    """A carrier's deactivation file: lines with number (the end user's) and date."""

    make_command = staticmethod(deactivation_command)


@app.page("/v1/consent/opt-ins")
class OptInsView(View):
    """POST a recorded opt-in: {"number", "user", "kinds", "method", "disclosure_text",
    "disclosure_version", "at" (default now), "page", "client_address" (a web form's)}; accepted
    (202) as a command, applied in order with the end user's other changes."""

    async def post(self, request: Request) -> Response:
        actor, body = await admin_request(request)
        if not isinstance(body, dict):
            return self.json({"error": "body must be a JSON object"}, status=400)
        command, problem = opt_in_command(body, actor, int(time.time() * 1000))
        if command is None:
            return self.json({"error": problem}, status=400)
        ack = await produce(
            blocklist_commands_topic,
            end_user_key(command["end_user_number"]),
            command_serde.encode(command),
        )
        await ack
        return self.json(
            {"accepted": command["command_id"], "opt_in": command["opt_in"]}, status=202
        )


class _Plan:
    """What the lines of one request would change, by the worker's full copy of the block list
    and the changes of the lines before them."""

    def __init__(self, reader: BlocklistReader) -> None:
        self.reader = reader
        self.written: dict[tuple[str, str], Record] = {}

    def outcome(self, command: Record, now_ms: int) -> str:
        user, business = command["end_user_number"], command["business_number"]
        reader = self.reader
        settings = reader.settings_of(business) if business else scope_settings(command["scope"])
        brand_id = settings.get("brand_id")
        kinds = kinds_of_brand(reader.brand(brand_id) if brand_id else None)

        def entry_of(scope: str) -> Record | None:
            written = self.written.get((scope, user))
            return written if written is not None else reader.entry_in(scope, user)

        result, entries = outcome(command, settings, entry_of, kinds, now_ms)
        self.written.update(((scope_of(e), user), e) for e in entries)
        return result


def _body_problem(body: Any) -> str | None:
    if not isinstance(body, dict):
        return 'body must be {"file": NAME, "lines": [{"line": N, ...}], "apply": false}'
    lines = body.get("lines")
    if not isinstance(body.get("file"), str) or not body["file"].strip():
        return "file: the file's name, for the history"
    if not isinstance(lines, list) or not lines or len(lines) > MAX_LINES:
        return f"lines: a list of 1 to {MAX_LINES:,} lines"
    if not all(isinstance(line, dict) and _line_number(line.get("line")) for line in lines):
        return 'each line is an object with its line number: {"line": N, ...}, N from 1'
    if not isinstance(body.get("apply", False), bool):
        return "apply: true or false"
    return None


def _line_number(value: object) -> bool:
    return type(value) is int and 0 < value <= MAX_LINE_NUMBER
