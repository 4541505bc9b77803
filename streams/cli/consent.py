"""`optout consent ...`: import consent records and deactivation files, record opt-ins, export
opt-ins and revocations for an auditor (rules/consent_records.py, tables/views/consent.py)."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from optout.streams.cli.common import iso, progress, read_changelog, web_call, web_json

__all__ = ["add_commands"]

# A part of a file sent in one request stays under the HTTP API's 1 MiB body limit.
PART_BYTES = 600_000
PART_LINES = 5000


def add_commands(commands: argparse._SubParsersAction) -> None:
    from optout.streams.rules.consent_records import (
        DEACTIVATION_COLUMNS,
        IMPORT_COLUMNS,
        METHODS,
        OPTIONAL_COLUMNS,
    )

    consent = commands.add_parser(
        "consent", help="import consent records and deactivations, record opt-ins, export"
    )
    actions = consent.add_subparsers(required=True, metavar="ACTION")
    imports = actions.add_parser(
        "import",
        help="import a list of opt-outs and opt-ins (dry run unless --apply)",
        description="Import opt-outs and opt-ins kept before (CSV with the header "
        f"{','.join(IMPORT_COLUMNS)} and optionally {','.join(OPTIONAL_COLUMNS)}; or the same "
        "fields as JSON lines). number is a business number or a scope (brand:ID, campaign:ID, "
        "number:N); action opt_out or opt_in; at an ISO 8601 time (UTC if no zone). Each line "
        "counts from its time: a change that happened later wins, so importing a file again "
        "changes nothing. Prints what would change and the refused lines with the reason; "
        "--apply writes. Needs an admin token in OPTOUT_TOKEN.",
    )
    deactivations = actions.add_parser(
        "deactivations",
        help="apply a carrier's deactivation file (dry run unless --apply)",
        description=f"A CSV with the header {','.join(DEACTIVATION_COLUMNS)}: each end user's "
        "number is blocked at every business number for every kind that needs consent, from "
        "the end of that date; an opt-in given after it lifts the block. Prints what would "
        "change; --apply writes. Needs an admin token in OPTOUT_TOKEN.",
    )
    for command, path, columns in (
        (imports, "/v1/consent/import", IMPORT_COLUMNS),
        (deactivations, "/v1/consent/deactivations", DEACTIVATION_COLUMNS),
    ):
        command.add_argument("file", type=Path, help="the file: .csv, or .jsonl for JSON lines")
        command.add_argument("--apply", action="store_true", help="write the changes")
        command.add_argument("--json", action="store_true", help="print the summary as JSON")
        command.set_defaults(run=_import_file, path=path, columns=columns)
    opt_in = actions.add_parser(
        "opt-in",
        help="record an opt-in: who consented to what, how, and what they were shown",
        description="Record an opt-in (lifting a block made before it, as START does). Needs "
        "an admin token in OPTOUT_TOKEN.",
    )
    opt_in.add_argument("--number", required=True, help="business number, or brand:ID etc.")
    opt_in.add_argument("--user", required=True, help="the end user's number, E.164")
    opt_in.add_argument("--kinds", help="kinds of message consented to, comma-separated "
                        "(default: every kind)")  # fmt: skip
    opt_in.add_argument("--method", required=True, choices=METHODS, help="how it was given")
    opt_in.add_argument("--disclosure-text", help="the disclosure shown (needed but for keyword)")
    opt_in.add_argument("--disclosure-version", help="the disclosure's version")
    opt_in.add_argument("--at", help="when it was given, ISO 8601 (default: now)")
    opt_in.add_argument("--page", help="web form: the page it was given on")
    opt_in.add_argument("--client-address", help="web form: the person's client address")
    opt_in.set_defaults(run=_opt_in)
    export = actions.add_parser(
        "export",
        help="write every opt-in and revocation as CSV, for an auditor",
        description="Read the audit history and write each consent change (opt-ins with their "
        "disclosure, revocations with their cause), oldest first, as CSV a spreadsheet opens "
        "without running any cell as a formula. Progress on stderr.",
    )
    export.add_argument("--output", help="file to write (default: standard output)")
    export.set_defaults(run=_export)


def _import_file(args: argparse.Namespace) -> int:
    try:
        lines = list(_lines(args.file, args.columns))
    except (OSError, ValueError) as exc:
        print(f"optout consent: {args.file}: {exc}", file=sys.stderr)
        return 1
    if not lines:
        print(f"optout consent: {args.file}: no lines", file=sys.stderr)
        return 1
    counts: Counter[str] = Counter()
    refused = [{"line": n, "reason": why} for n, line in lines if (why := line.get("_refused"))]
    examples: list[dict] = []
    show = progress(f"{'applying' if args.apply else 'checking'} {args.file.name}")
    done, total, sent = len(refused), len(lines), 0
    # Each end user's lines together, so that a dry run counts each with those before it (the
    # order of an end user's lines hardly matters: each counts from its own time).
    readable = sorted((item for item in lines if "_refused" not in item[1]), key=_user)
    for part in _parts(readable):
        body = {"file": args.file.name, "lines": part, "apply": args.apply}
        answer = web_json(f"consent {args.path.rsplit('/', 1)[1]}", "POST", args.path, body)
        if answer is None:
            print(f"stopped after {done:,} of {total:,} lines", file=sys.stderr)
            return 1
        counts.update(answer["outcomes"])
        sent += answer["applied"]
        refused += answer["refused"]
        examples += answer["examples"][: max(0, 10 - len(examples))]
        done += len(part)
        show(done, total)
    summary = {"file": str(args.file), "lines": total, "applied": args.apply, "sent": sent,
               "outcomes": dict(counts), "refused": sorted(refused, key=lambda r: r["line"]),
               "examples": examples}  # fmt: skip
    print(json.dumps(summary, indent=2) if args.json else _summary_text(summary))
    return 0


def _lines(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[int, dict]]:
    """Each line of the file with its number; a line that cannot be read carries `_refused`."""
    with path.open(encoding="utf-8-sig", newline="") as file:  # a spreadsheet's BOM too
        if path.suffix.lower() in (".jsonl", ".ndjson"):
            for number, text in enumerate(file, 1):
                if text.strip():
                    yield number, _json_line(text)
            return
        reader = csv.DictReader(file)
        missing = [c for c in columns if c not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(f"the header must name {','.join(columns)} (missing: "
                             f"{', '.join(missing)})")  # fmt: skip
        for row in reader:
            if None in row:
                yield reader.line_num, {"_refused": "more fields than the header names"}
            elif any(v for v in row.values()):
                yield reader.line_num, {k: v for k, v in row.items() if v is not None}


def _user(item: tuple[int, dict]) -> str:
    user = item[1].get("user") or item[1].get("number")
    return user if isinstance(user, str) else ""


def _json_line(text: str) -> dict:
    try:
        line = json.loads(text)
    except (ValueError, RecursionError) as exc:
        return {"_refused": f"not JSON: {exc}"}
    return line if isinstance(line, dict) else {"_refused": "not a JSON object"}


def _parts(lines: list[tuple[int, dict]]) -> Iterator[list[dict]]:
    part: list[dict] = []
    size = 0
    for number, line in lines:
        item = line | {"line": number}
        size += len(json.dumps(item))
        part.append(item)
        if size > PART_BYTES or len(part) >= PART_LINES:
            yield part
            part, size = [], 0
    if part:
        yield part


def _summary_text(summary: dict) -> str:
    outcomes = summary["outcomes"]
    rows = [f"{summary['file']}: {summary['lines']:,} lines"
            + ("" if summary["applied"] else " (a dry run: --apply writes)")]  # fmt: skip
    for name, count in outcomes.items():
        rows.append(f"  {name:<22}{count:>10,}")
    rows.append(f"  {'refused':<22}{len(summary['refused']):>10,}")
    for line in summary["refused"]:
        rows.append(f"  line {line['line']}: refused: {line['reason']}")
    if summary["applied"]:
        rows.append(
            f"{summary['sent']:,} lines sent to be applied, in order with "
            "each end user's other changes (a line that changes nothing there is not applied); "
            "a dry run of the file says what is not applied yet."
        )
    for example in summary["examples"]:
        rows.append(f"  e.g. line {example['line']}: {example['outcome']}: {example['action']} "
                    f"{example['number']} {example['user']}")  # fmt: skip
    return "\n".join(rows)


def _opt_in(args: argparse.Namespace) -> int:
    body = {
        "number": args.number,
        "user": args.user,
        "kinds": [k.strip() for k in args.kinds.split(",") if k.strip()] if args.kinds else [],
        "method": args.method,
        "disclosure_text": args.disclosure_text,
        "disclosure_version": args.disclosure_version,
        "at": args.at,
        "page": args.page,
        "client_address": args.client_address,
    }
    return web_call("consent opt-in", "POST", "/v1/consent/opt-ins", body)


EXPORT_FIELDS = ["at", "change", "scope", "business_number", "end_user_number", "kinds", "source",
                 "keyword", "text", "method", "disclosure_text", "disclosure_version", "page",
                 "client_address", "reason", "actor", "origin", "id"]  # fmt: skip
# Free text, which could begin like a formula.
_FREE_TEXT = ("keyword", "text", "disclosure_text", "disclosure_version", "page", "reason",
              "actor", "origin", "id")  # fmt: skip


def _export(args: argparse.Namespace) -> int:
    from optout.streams.rules.evidence import spreadsheet_safe
    from optout.streams.topics import HISTORY_CHANGELOG_TOPIC

    histories = read_changelog(HISTORY_CHANGELOG_TOPIC, "blocklist_history", "history")
    events = sorted((e for h in histories.values() for e in h["events"]),
                    key=lambda e: (e["occurred_at"], e["event_id"]))  # fmt: skip
    output = open(args.output, "w", newline="") if args.output else sys.stdout  # noqa: SIM115
    try:
        writer = csv.DictWriter(output, fieldnames=EXPORT_FIELDS)
        writer.writeheader()
        for event in events:
            row = _export_row(event)
            writer.writerow(row | {f: spreadsheet_safe(row[f]) for f in _FREE_TEXT})
    finally:
        if args.output:
            output.close()
    print(f"exported {len(events):,} consent changes", file=sys.stderr)
    return 0


def _export_row(event: dict) -> dict:
    """One consent change as an export row: an opt-in with its record, or a revocation."""
    opt_in = event.get("opt_in") or {}
    opting_in = event["action"] == "OPT_IN"
    return {
        "at": iso(opt_in.get("given_at") or event["occurred_at"]),
        "change": "opt-in" if opting_in else "revocation",
        "scope": event.get("scope") or f"number:{event['business_number']}",
        "business_number": event["business_number"],
        "end_user_number": event["end_user_number"],
        "kinds": ", ".join((opt_in.get("kinds") if opting_in else event.get("kinds")) or ())
        or "all",
        "source": event["source"],
        "keyword": event.get("keyword"),
        "text": event.get("text"),
        "method": opt_in.get("method"),
        "disclosure_text": opt_in.get("disclosure_text"),
        "disclosure_version": opt_in.get("disclosure_version"),
        "page": opt_in.get("page"),
        "client_address": opt_in.get("client_address"),
        "reason": event.get("reason"),
        "actor": event.get("actor"),
        "origin": event.get("origin"),
        "id": opt_in.get("opt_in_id") or event.get("message_id"),
    }
