"""`optout`: the parser, one command group per module beside this one."""

from __future__ import annotations

import argparse
import sys

from optout.streams.cli import (
    bench,
    blocklist,
    consent,
    kafka,
    messages,
    numbers,
    replay,
    review,
    run,
)
from optout.streams.cli.common import NoBroker

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except NoBroker as exc:
        print(f"optout: {exc}", file=sys.stderr)
        return 1
    except TimeoutError:
        print("optout: the broker did not answer in time", file=sys.stderr)
        return 1


def parser() -> argparse.ArgumentParser:
    """`optout` and every subcommand, in the order `optout --help` lists them."""
    top = argparse.ArgumentParser(
        prog="optout",
        description="Opt-Out Assist on Kafka: STOP/START/HELP handling for SMS and MMS. "
        "Configuration comes from OPTOUT_* environment variables (see README).",
    )
    commands = top.add_subparsers(required=True, metavar="COMMAND")
    for group in (run, messages, blocklist, consent, bench, numbers, review, replay, kafka):
        group.add_commands(commands)
    return top


if __name__ == "__main__":
    sys.exit(main())
