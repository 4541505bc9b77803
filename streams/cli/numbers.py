"""`optout numbers ...`: read and change per-number settings."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

from optout.streams.cli.common import (
    broker_url,
    produce,
    registry,
    service_defaults,
)
from optout.streams.config import Config

__all__ = ["add_commands"]


def add_commands(commands: argparse._SubParsersAction) -> None:
    numbers = commands.add_parser(
        "numbers",
        help="per-number settings: keywords, replies, webhook",
        description="Read and change per-number settings on the number-settings topic. "
        "Changes that would make a reply non-compliant are refused.",
    )
    numbers_commands = numbers.add_subparsers(required=True, metavar="ACTION")
    numbers_get = numbers_commands.add_parser("get", help="print a number's settings")
    numbers_get.add_argument("number", help="business number, E.164")
    numbers_get.set_defaults(run=_numbers_get)
    numbers_list = numbers_commands.add_parser("list", help="print every number's settings")
    numbers_list.set_defaults(run=_numbers_list)
    numbers_set = numbers_commands.add_parser(
        "set",
        help="change a number's settings",
        description="Change the given settings of a number and keep the rest. Reply names are "
        "<intent>.<language>: opt_out.en, opt_in.fr, help.es, help.en+fr, ...; reply texts may "
        "use {brand} and {contact}.",
    )
    numbers_set.add_argument("number", help="business number, E.164")
    state = numbers_set.add_mutually_exclusive_group()
    state.add_argument("--enable", dest="enabled", action="store_true", default=None)
    state.add_argument("--disable", dest="enabled", action="store_false")
    numbers_set.add_argument("--brand", dest="brand_name")
    numbers_set.add_argument("--help-contact")
    numbers_set.add_argument("--webhook-url")
    numbers_set.add_argument("--webhook-secret", help="key for the webhook signatures")
    for intent in ("opt-out", "opt-in", "help"):
        numbers_set.add_argument(
            f"--add-{intent}", action="append", default=[], metavar="KEYWORD",
            help=f"an extra {intent} keyword (repeatable)",
        )  # fmt: skip
    numbers_set.add_argument(
        "--remove-keyword", action="append", default=[], metavar="KEYWORD",
        help="a default keyword this number should not answer to (not STOP, START or HELP)",
    )  # fmt: skip
    numbers_set.add_argument(
        "--reply", action="append", default=[], metavar="NAME=TEXT", help="an own reply text"
    )
    numbers_set.set_defaults(run=_numbers_set)


def _settings_store(config: Config) -> dict[bytes, dict]:
    from optout.schemas import AvroSerde
    from optout.streams.topics import SETTINGS_TOPIC
    from optout.tables.client.topic_reader import read_to_end

    serde = AvroSerde("number_settings", SETTINGS_TOPIC, registry(config))
    return asyncio.run(read_to_end(broker_url(config), SETTINGS_TOPIC, serde.decode))


def _numbers_get(args: argparse.Namespace) -> int:
    from optout.streams.rules.number_settings import shown

    stored = _settings_store(Config()).get(args.number.encode())
    if stored is None:
        print(f"{args.number} has no settings: it uses the defaults (see README)", file=sys.stderr)
        return 1
    print(json.dumps(shown(stored), indent=2))
    return 0


def _numbers_list(args: argparse.Namespace) -> int:
    from optout.streams.rules.number_settings import shown

    for settings in _settings_store(Config()).values():
        print(json.dumps(shown(settings)))
    return 0


def _numbers_set(args: argparse.Namespace) -> int:
    from optout.schemas import AvroSerde
    from optout.streams.rules.number_settings import (
        apply_changes,
        default_settings,
        effective_settings,
        settings_problems,
        shown,
    )
    from optout.streams.topics import SETTINGS_TOPIC

    config = Config()
    current = _settings_store(config).get(args.number.encode()) or default_settings(args.number)
    changes: dict = {
        key: value
        for key in ("enabled", "brand_name", "help_contact", "webhook_url", "webhook_secret")
        if (value := getattr(args, key)) is not None
    }
    for option, field in (
        ("add_opt_out", "extra_opt_out_keywords"),
        ("add_opt_in", "extra_opt_in_keywords"),
        ("add_help", "extra_help_keywords"),
        ("remove_keyword", "removed_keywords"),
    ):
        if getattr(args, option):
            changes[field] = [*current[field], *getattr(args, option)]
    if args.reply:
        bad = [r for r in args.reply if "=" not in r]
        if bad:
            print(f"optout numbers set: --reply takes NAME=TEXT, not {bad}", file=sys.stderr)
            return 2
        changes["replies"] = current["replies"] | dict(r.split("=", 1) for r in args.reply)
    updated, problems = apply_changes(current, changes)
    updated |= {"number": args.number, "updated_at": int(time.time() * 1000)}
    service = service_defaults(config)
    defaults = default_settings(
        args.number, service["brand_name"], service["help_contact"], service["webhook_url"] or None
    )
    problems = problems or settings_problems(effective_settings(updated, defaults))
    if problems:
        print(f"optout numbers set: refused, {args.number} would not comply:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        print(
            "  (a setting this number leaves empty comes from the service's defaults, "
            "OPTOUT_DEFAULT_BRAND and OPTOUT_DEFAULT_HELP_CONTACT; give it here with --brand "
            "or --help-contact)",
            file=sys.stderr,
        )
        return 2
    value = AvroSerde("number_settings", SETTINGS_TOPIC, registry(config)).encode(updated)
    asyncio.run(produce(broker_url(config), SETTINGS_TOPIC, args.number.encode(), value))
    print(json.dumps(shown(updated), indent=2))
    return 0
