"""`optout numbers ...` and `optout brands ...`: read and change per-number settings and each
brand's default consent scope."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

from optout.streams.cli.common import (
    broker_url,
    e164,
    produce,
    registry,
    service_defaults,
    wait_until_followed,
)
from optout.streams.config import Config
from optout.streams.rules.scopes import SCOPE_KINDS
from optout.streams.topics import BRAND_SETTINGS_TOPIC, SETTINGS_TOPIC

__all__ = ["add_commands"]


def add_commands(commands: argparse._SubParsersAction) -> None:
    numbers = commands.add_parser(
        "numbers",
        help="per-number settings: consent scope, keywords, replies, webhook",
        description="Read and change per-number settings on the number-settings topic. "
        "Changes that would make a reply non-compliant are refused.",
    )
    numbers_commands = numbers.add_subparsers(required=True, metavar="ACTION")
    numbers_get = numbers_commands.add_parser("get", help="print a number's settings")
    numbers_get.add_argument("number", type=e164, help="business number, E.164")
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
    numbers_set.add_argument("number", type=e164, help="business number, E.164")
    state = numbers_set.add_mutually_exclusive_group()
    state.add_argument("--enable", dest="enabled", action="store_true", default=None)
    state.add_argument("--disable", dest="enabled", action="store_false")
    numbers_set.add_argument("--brand", dest="brand_name")
    numbers_set.add_argument("--help-contact")
    numbers_set.add_argument(
        "--toll-free-confirmation",
        choices=("on", "off"),
        help="for a toll-free number: send our own opt-out confirmation too (off by default: "
        "the toll-free network confirms and blocks by itself)",
    )
    numbers_set.add_argument("--webhook-url")
    numbers_set.add_argument("--webhook-secret", help="key for the webhook signatures")
    numbers_set.add_argument("--brand-id", help="the brand this number sends for ('' for none)")
    numbers_set.add_argument("--campaign-id", help="its campaign ('' for none)")
    numbers_set.add_argument(
        "--opt-out-scope",
        choices=(*SCOPE_KINDS, ""),
        help="what one opt-out to this number covers: this number, every number of its "
        "campaign, or of its brand ('': the brand's default, else number). Changing it never "
        "unblocks anyone (README, Consent scopes)",
    )
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

    brands = commands.add_parser(
        "brands",
        help="per-brand settings: its numbers' default consent scope, its quiet hours, its kinds "
        "of message",
        description="A brand's default scope applies to each of its numbers (numbers set "
        "--brand-id) that sets no --opt-out-scope of its own; its quiet hours to every send "
        "from them; its kinds of message to what their STOPs block.",
    )
    brands_commands = brands.add_subparsers(required=True, metavar="ACTION")
    brands_get = brands_commands.add_parser("get", help="print a brand's settings and numbers")
    brands_get.add_argument("brand_id")
    brands_get.set_defaults(run=_brands_get)
    brands_set = brands_commands.add_parser(
        "set", help="change a brand's settings; its numbers that set no scope follow its default"
    )
    brands_set.add_argument("brand_id")
    brands_set.add_argument(
        "--opt-out-scope",
        choices=(*SCOPE_KINDS, ""),
        help="the scope of its numbers that set none ('': none, each number alone)",
    )
    brands_set.add_argument(
        "--quiet-hours",
        metavar="HH:MM-HH:MM",
        help="the recipient's local hours in which its sends go out, e.g. 08:00-21:00 (the "
        "TCPA's window; '' for none). Sends outside are held until the window opens",
    )
    brands_set.add_argument(
        "--kinds",
        metavar="KIND[:CLASS],...",
        help="its kinds of message, each marketing, informational or exempt: e.g. "
        "marketing,informational,appointments:informational,fraud-alerts:exempt (default: "
        "marketing,informational). An exempt kind stays sendable after a STOP: only for "
        "messages the law lets you send after one (emergency, fraud alerts)",
    )
    brands_set.add_argument(
        "--default-kind", metavar="KIND", help="the kind of a send that names none (default: "
        "marketing, the safe choice; '' for that)",
    )  # fmt: skip
    brands_set.add_argument(
        "--kind-aware",
        choices=("on", "off"),
        help="on: a STOP answering a marketing send (the number's last send to that person) "
        "blocks the marketing kinds only; any other STOP blocks every kind that needs consent "
        "(FCC, 47 CFR 64.1200(a)(10)). off (default): every STOP blocks every kind",
    )
    brands_set.add_argument(
        "--clarify",
        choices=("on", "off"),
        help="on: the opt-out confirmation asks which kinds to stop (ALL, or the informational "
        "kinds to keep); everything stays blocked until a valid answer narrows it",
    )
    brands_set.add_argument(
        "--recorded-consent",
        choices=("on", "off"),
        help="on: a marketing send needs a recorded opt-in for its kind (`optout consent "
        "opt-in`, an imported opt-in, a START); without one the gate rejects it. off (default)",
    )
    brands_set.add_argument(
        "--clarify-window-hours",
        type=int,
        metavar="N",
        help="how long an answer to the clarification is taken (default 24)",
    )
    brands_set.set_defaults(run=_brands_set)


def _settings_store(config: Config) -> dict[bytes, dict]:
    return _read_settings(config, "number_settings", SETTINGS_TOPIC)


def _brand_defaults(config: Config) -> dict[str, str]:
    brands = _read_settings(config, "brand_settings", BRAND_SETTINGS_TOPIC).values()
    return {b["brand_id"]: b["opt_out_scope"] for b in brands if b["opt_out_scope"]}


def _read_settings(config: Config, contract: str, topic: str) -> dict[bytes, dict]:
    from optout.schemas import AvroSerde
    from optout.tables.client.topic_reader import read_to_end

    serde = AvroSerde(contract, topic, registry(config))
    return asyncio.run(read_to_end(broker_url(config), topic, serde.decode))


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
    from optout.streams.rules.number_settings import default_settings, shown, updated_settings

    config = Config()
    stored = _settings_store(config).get(args.number.encode())
    current = stored or default_settings(args.number)
    changes: dict = {
        key: value
        for key in (
            "enabled",
            "brand_name",
            "help_contact",
            "webhook_url",
            "webhook_secret",
            "brand_id",
            "campaign_id",
            "opt_out_scope",
        )  # fmt: skip
        if (value := getattr(args, key)) is not None
    }
    if args.toll_free_confirmation:
        changes["toll_free_confirmation"] = args.toll_free_confirmation == "on"
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
    service = service_defaults(config)
    defaults = default_settings(
        args.number, service["brand_name"], service["help_contact"], service["webhook_url"] or None
    )
    updated, problems = updated_settings(
        stored, changes, defaults, _brand_defaults(config), int(time.time() * 1000)
    )
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
    _say_if_not_followed([updated])
    return 0


def _say_if_not_followed(changed: list[dict]) -> None:
    """A running service applies settings once it has read them: wait for that, so that the
    next command (a message to the number) meets them."""
    for settings in changed:
        path = f"/v1/numbers/{settings['number']}"
        written: int = settings["updated_at"]

        def applied(answer: dict, written: int = written) -> bool:
            return answer["settings"]["updated_at"] >= written

        if not wait_until_followed(path, applied):
            print(
                f"optout: stored, but the running service has not applied the settings of "
                f"{settings['number']} yet (is it behind on the number-settings topic?)",
                file=sys.stderr,
            )


def _brands_get(args: argparse.Namespace) -> int:
    config = Config()
    numbers = [
        s["number"] for s in _settings_store(config).values() if s.get("brand_id") == args.brand_id
    ]
    brand = _read_settings(config, "brand_settings", BRAND_SETTINGS_TOPIC).get(
        args.brand_id.encode()
    )
    print(json.dumps((brand or {"brand_id": args.brand_id}) | {"numbers": numbers}))
    return 0


def _brands_set(args: argparse.Namespace) -> int:
    from optout.schemas import AvroSerde
    from optout.streams.rules.number_settings import default_brand, updated_brand

    config = Config()
    brands = _read_settings(config, "brand_settings", BRAND_SETTINGS_TOPIC)
    current = brands.get(args.brand_id.encode()) or default_brand(args.brand_id)
    changes: dict[str, object] = {
        key: value
        for key in ("opt_out_scope", "quiet_hours", "default_kind", "clarify_window_hours")
        if (value := getattr(args, key)) is not None
    }
    if args.kinds is not None:
        changes["kinds"] = [kind.strip() for kind in args.kinds.split(",") if kind.strip()]
    for switch in ("kind_aware", "clarify", "recorded_consent"):
        if getattr(args, switch) is not None:
            changes[switch] = getattr(args, switch) == "on"
    record, rewritten, problems = updated_brand(
        current, changes, _settings_store(config).values(), int(time.time() * 1000)
    )
    if problems:
        print(f"optout brands set: refused for brand {args.brand_id}:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    brand_serde = AvroSerde("brand_settings", BRAND_SETTINGS_TOPIC, registry(config))
    settings_serde = AvroSerde("number_settings", SETTINGS_TOPIC, registry(config))
    records = [(BRAND_SETTINGS_TOPIC, args.brand_id.encode(), brand_serde.encode(record))]
    records += [(SETTINGS_TOPIC, s["number"].encode(), settings_serde.encode(s)) for s in rewritten]
    for topic, key, value in records:
        asyncio.run(produce(broker_url(config), topic, key, value))
    print(json.dumps(record | {"numbers_rescoped": [s["number"] for s in rewritten]}))
    _say_if_not_followed(rewritten)
    return 0
