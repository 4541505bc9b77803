"""The block list's HTTP API: lookups for send services, hand-made changes, listings.

Lookups are answered by the worker that owns the end user's partition, where the end user's
entries in every scope are (others forward them, and split a batch into one request per owner).
Listings come from a full copy of the list that each worker follows from the changelog, opened
when it starts.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from typing import Any, cast

import aiohttp
from aiohttp import web
from faust.web import Request, Response, View

from optout.streams.app import app
from optout.streams.exceptions import ConsentUnknown
from optout.streams.rules.lookup_answers import (
    lookup_answer,
    pair_problem,
    parse_batch,
    parse_kind,
)
from optout.streams.rules.scopes import current_scope, number_scope
from optout.streams.web.auth import admin_caller, admin_request, check_lookup_allowed
from optout.tables import full_copy
from optout.tables.blocklist import (
    blocklist_commands_topic,
    command_serde,
    copy_problem,
    current_consent,
    current_consents,
)
from optout.tables.keys import end_user_key
from optout.tables.settings import kinds_of, settings_for
from optout.tables.views.routing import (
    ROUTED_HEADER,
    at_owner,
    owner_of,
    owner_unavailable,
)

__all__ = ["BatchCheckView", "NumberListView", "PairView", "refuse_or_route", "scope_problem"]

MAX_PAGE = 1000


async def refuse_or_route(view: View, request: Request, number: str, sender: str) -> Any:
    """For a read of one pair: a 400 answer, the owning worker's answer when another worker
    owns the pair, or None when this worker should answer; Refused without a token where one
    is needed, ConsentUnknown when this worker's copy of the pair's partition cannot answer
    now."""
    problem = pair_problem(number, sender)
    if problem:
        return view.json({"error": problem}, status=400)
    check_lookup_allowed(request)
    routed = await at_owner(cast(web.Request, request), sender)
    if routed is None and (behind := copy_problem(sender)):
        raise ConsentUnknown(behind)
    return routed


@app.page("/v1/blocklist/{number}/{sender}")
class PairView(View):
    """GET: may `number` text `sender`? (`?kind=KIND`: a message of that kind; without it, any
    kind that needs consent.) POST: block by hand; DELETE: unblock by hand.

    POST and DELETE take {"reason": "...", "scope": "..."} and an admin bearer token; they are
    accepted (202) as commands and applied in order with the end user's other changes. The
    change is made in the number's consent scope; "scope", when given, must name it (a removal
    in a brand scope unblocks every number of the brand), or for a block, the number alone.
    """

    async def get(self, request: Request, number: str, sender: str) -> Response:
        try:
            kind = parse_kind(request.query.get("kind"))
        except ValueError as exc:
            return self.json({"error": str(exc)}, status=400)
        refused_or_routed = await refuse_or_route(self, request, number, sender)
        if refused_or_routed is not None:
            return refused_or_routed
        consent = await current_consent(number, sender)
        return self.json(
            lookup_answer(number, sender, consent, kind, kinds_of(settings_for(number)))
        )

    async def post(self, request: Request, number: str, sender: str) -> Response:
        return await self._command(request, "OPT_OUT", number, sender)

    async def delete(self, request: Request, number: str, sender: str) -> Response:
        return await self._command(request, "OPT_IN", number, sender)

    async def _command(self, request: Request, action: str, number: str, sender: str) -> Response:
        actor, body = await admin_request(request)
        problem = pair_problem(number, sender)
        if problem:
            return self.json({"error": problem}, status=400)
        reason = body.get("reason") if isinstance(body, dict) else None
        if not isinstance(reason, str) or not reason.strip():
            return self.json({"error": 'body must be {"reason": "why, for the audit"}'}, status=400)
        scope = current_scope(settings_for(number))
        asked = body.get("scope") or scope
        problem = scope_problem(number, scope, asked, action)
        if problem:
            return self.json({"error": problem}, status=409)
        command = {
            "command_id": f"manual-{uuid.uuid4()}",
            "action": action,
            "business_number": number,
            "end_user_number": sender,
            "scope": asked,
            "reason": reason.strip(),
            "actor": actor,
            "requested_at": int(time.time() * 1000),
        }
        sent = await blocklist_commands_topic.send(
            key=end_user_key(sender), value=command_serde.encode(command)
        )
        await sent  # accepted means on the broker
        return self.json(
            {"accepted": command["command_id"], "action": action, "scope": asked}, status=202
        )


@app.page("/v1/blocklist/check")
class BatchCheckView(View):
    """POST {"pairs": [{"number": ..., "sender": ...}, ...], "kind": ...} (at most 1,000 pairs;
    `kind` optional, for every pair): every answer, in order. Pairs owned by other workers are
    asked of them in one request each."""

    async def post(self, request: Request) -> Response:
        check_lookup_allowed(request)
        try:
            body = await request.json()
            pairs = parse_batch(body)
            kind = parse_kind(body.get("kind"))
        except (ValueError, RecursionError) as exc:  # RecursionError: JSON nested too deep
            return self.json({"error": str(exc)}, status=400)
        try:
            if request.headers.get(ROUTED_HEADER):  # forwarded by another worker: ours, or none
                return self.json({"results": await _answers_here(pairs, kind)})
            by_owner: dict[str | None, list[int]] = defaultdict(list)
            for index, (_, sender) in enumerate(pairs):
                by_owner[owner_of(sender)].append(index)
            answers = await asyncio.gather(
                *(
                    self._ask(owner, [pairs[i] for i in indexes], kind, request)
                    for owner, indexes in by_owner.items()
                )
            )
        except aiohttp.ClientError as exc:
            raise ConsentUnknown(owner_unavailable(exc)) from exc
        results: list[dict | None] = [None] * len(pairs)
        for indexes, answered in zip(by_owner.values(), answers, strict=True):
            for index, result in zip(indexes, answered, strict=True):
                results[index] = result
        return self.json({"results": results})

    async def _ask(
        self, owner: str | None, pairs: list[tuple[str, str]], kind: str | None, request: Request
    ) -> list[dict]:
        """The answers of the worker that owns these pairs (None: this one); ConsentUnknown
        when that worker has none."""
        if owner is None:
            return await _answers_here(pairs, kind)
        body = {"pairs": [{"number": n, "sender": s} for n, s in pairs], "kind": kind}
        headers = {"Authorization": request.headers.get("Authorization", ""), ROUTED_HEADER: "1"}
        async with app.http_client.post(
            f"{owner.rstrip('/')}/v1/blocklist/check", json=body, headers=headers
        ) as response:
            if response.status == 503:
                raise ConsentUnknown((await response.json())["error"])
            response.raise_for_status()
            return (await response.json())["results"]


def scope_problem(number: str, scope: str, asked: str, action: str) -> str | None:
    """Why a hand-made change of `number` may not be made in `asked`, or None when it may: in
    the number's scope, or a block of the number alone."""
    if asked == scope or (action == "OPT_OUT" and asked == number_scope(number)):
        return None
    if action == "OPT_OUT":
        return f"{number} is in scope {scope}: block in {scope} or {number_scope(number)}"
    return (
        f"{number} is in scope {scope}: a removal is made there (it unblocks every number of "
        f"{scope}), not in {asked}"
    )


async def _answers_here(pairs: list[tuple[str, str]], kind: str | None) -> list[dict]:
    consents = await current_consents(pairs)
    return [
        lookup_answer(n, s, c, kind, kinds_of(settings_for(n)))
        for (n, s), c in zip(pairs, consents, strict=True)
    ]


@app.page("/v1/blocklist/{number}")
class NumberListView(View):
    """GET the senders blocked in a number's scope, a page at a time (?limit=100&after=<sender>).
    Answered from this worker's full copy, which follows the changelog (see `lag`)."""

    async def get(self, request: Request, number: str) -> Response:
        admin_caller(request)
        problem = pair_problem(number)
        if problem:
            return self.json({"error": problem}, status=400)
        try:
            limit = min(int(request.query.get("limit", "100")), MAX_PAGE)
        except ValueError:
            return self.json({"error": "limit must be a whole number"}, status=400)
        copy = full_copy.reader
        if copy is None:
            raise ConsentUnknown("the worker is starting; try again")
        senders = copy.blocked_senders(number, after=request.query.get("after"), limit=limit)
        return self.json(
            {
                "number": number,
                "scope": copy.scope_of_number(number),
                "senders": senders,
                "next": senders[-1]["sender"] if len(senders) == limit else None,
                "lag": sum(copy.lag().values()),
            }
        )
