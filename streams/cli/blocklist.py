"""`optout blocklist ...`: ask and change the block list, its history, and export it."""

from __future__ import annotations

import argparse
import sys

from optout.streams.cli.common import (
    e164,
    iso,
    read_changelog,
    web_call,
    web_text,
)

__all__ = ["add_commands"]


def add_commands(commands: argparse._SubParsersAction) -> None:
    blocklist = commands.add_parser("blocklist", help="ask or manage the block list")
    blocklist_commands = blocklist.add_subparsers(required=True, metavar="ACTION")
    check = blocklist_commands.add_parser(
        "check",
        help="may NUMBER text SENDER? prints the lookup's JSON",
        description="Print the block-list lookup for a pair. Exits 0 whether or not the pair "
        "is blocked; non-zero only when no answer can be had.",
    )
    check.add_argument("number", type=e164, help="business number, E.164")
    check.add_argument("sender", type=e164, help="end user's number, E.164")
    check.add_argument(
        "--kind",
        help="a kind of message (marketing, informational, ...): blocked for that kind; "
        "without it, blocked if any kind that needs consent is",
    )
    check.set_defaults(run=_blocklist_check)
    for change, helptext in (
        ("add", "block a pair by hand (an opt-out received by phone or email)"),
        ("remove", "unblock a pair by hand"),
    ):
        command = blocklist_commands.add_parser(
            change,
            help=helptext,
            description=f"{helptext.capitalize()}. Goes through Kafka like any other change; "
            "needs an admin token in OPTOUT_TOKEN.",
        )
        command.add_argument("number", type=e164, help="business number, E.164")
        command.add_argument("sender", type=e164, help="end user's number, E.164")
        command.add_argument("--reason", required=True, help="why, for the audit history")
        command.add_argument(
            "--scope",
            help="the consent scope to change, to be sure of it: the number's scope "
            "(brand:ID, campaign:ID or number:NUMBER; the default), or for add number:NUMBER "
            "to block at this number alone",
        )
        command.set_defaults(run=_blocklist_change, change=change)
    history = blocklist_commands.add_parser(
        "history", help="every change of a pair; with --at, was it blocked then and why"
    )
    history.add_argument("number", type=e164)
    history.add_argument("sender", type=e164)
    history.add_argument("--at", help="a time: ISO 8601 (UTC if no zone) or epoch ms")
    history.set_defaults(run=_blocklist_history)
    evidence = blocklist_commands.add_parser(
        "evidence",
        help="everything a consent dispute asks for, as JSON (or --html FILE, a printable page)",
        description="Every consent change that speaks for the number: the end user's messages "
        "with their text, the rule and ruleset that read them, the confirmation and when the "
        "carrier accepted it, manual changes with actor and reason, the scope.",
    )
    evidence.add_argument("number", type=e164)
    evidence.add_argument("sender", type=e164)
    evidence.add_argument("--html", metavar="FILE", help="write the printable page to FILE")
    evidence.set_defaults(run=_blocklist_evidence)
    export = blocklist_commands.add_parser(
        "export",
        help="write blocked pairs as CSV (one number's or all)",
        description="Read the block list's changelog and write CSV, with progress on stderr.",
    )
    export.add_argument(
        "--number", type=e164, help="only entries made through this business number"
    )
    export.add_argument("--scope", help="only this consent scope (brand:ID, campaign:ID, ...)")
    export.add_argument("--output", help="file to write (default: standard output)")
    export.add_argument("--all", action="store_true", help="unblocked pairs too")
    export.set_defaults(run=_blocklist_export)


def _blocklist_check(args: argparse.Namespace) -> int:
    path = f"/v1/blocklist/{args.number}/{args.sender}"
    return web_call(
        "blocklist check", "GET", path, query={"kind": args.kind} if args.kind else None
    )


def _blocklist_change(args: argparse.Namespace) -> int:
    method = "POST" if args.change == "add" else "DELETE"
    path = f"/v1/blocklist/{args.number}/{args.sender}"
    body = {"reason": args.reason} | ({"scope": args.scope} if args.scope else {})
    return web_call(f"blocklist {args.change}", method, path, body)


def _blocklist_history(args: argparse.Namespace) -> int:
    path = f"/v1/blocklist/{args.number}/{args.sender}/history"
    return web_call("blocklist history", "GET", path, query={"at": args.at} if args.at else None)


def _blocklist_evidence(args: argparse.Namespace) -> int:
    path = f"/v1/blocklist/{args.number}/{args.sender}/evidence"
    if not args.html:
        return web_call("blocklist evidence", "GET", path)
    page = web_text("blocklist evidence", path, {"format": "html"})
    if page is None:
        return 1
    with open(args.html, "w", encoding="utf-8") as output:
        output.write(page)
    print(f"wrote {args.html}", file=sys.stderr)
    return 0


def _blocklist_export(args: argparse.Namespace) -> int:
    import csv

    from optout.streams.rules.scopes import scope_of
    from optout.streams.topics import BLOCKLIST_CHANGELOG_TOPIC

    entries = read_changelog(BLOCKLIST_CHANGELOG_TOPIC, "blocklist_entry", "block list")
    rows = sorted(
        (e for e in entries.values() if e["blocked"] or args.all),
        key=lambda e: (scope_of(e), e["end_user_number"]),
    )
    rows = [e | {"scope": scope_of(e)} for e in rows]
    rows = [e for e in rows if not args.number or e["business_number"] == args.number]
    rows = [e for e in rows if not args.scope or e["scope"] == args.scope]
    output = open(args.output, "w", newline="") if args.output else sys.stdout  # noqa: SIM115
    try:
        fields = ["scope", "business_number", "end_user_number", "blocked", "since", "source",
                  "keyword", "message_id", "reason", "actor"]  # fmt: skip
        writer = csv.DictWriter(output, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        for entry in rows:
            writer.writerow(entry | {"since": iso(entry["since"])})
    finally:
        if args.output:
            output.close()
    print(f"exported {len(rows)} pairs", file=sys.stderr)
    return 0
