"""`optout review ...`: the messages flagged for a person's decision, and deciding them."""

from __future__ import annotations

import argparse

from optout.streams.cli.common import web_call

__all__ = ["add_commands"]


def add_commands(commands: argparse._SubParsersAction) -> None:
    review = commands.add_parser(
        "review",
        help="messages flagged for review: list, decide",
        description="Messages that may revoke consent in words the classifier cannot take for "
        "certain wait here; each must be decided within 10 business days (its due_at). Needs "
        "an admin token in OPTOUT_TOKEN.",
    )
    actions = review.add_subparsers(required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="print the open items, the soonest due first")
    listing.add_argument("--overdue", action="store_true", help="only those past their deadline")
    listing.set_defaults(run=_list)
    resolve = actions.add_parser(
        "resolve",
        help="decide an item: block the sender (--opt-out) or close it (--dismiss)",
        description="--opt-out blocks the sender in the number's consent scope like "
        "`optout blocklist add` (source review); --dismiss closes the item. Both are recorded "
        "with your token's name and the reason.",
    )
    resolve.add_argument("review_id", help="the item's id (the message id)")
    decision = resolve.add_mutually_exclusive_group(required=True)
    decision.add_argument("--opt-out", dest="resolution", action="store_const", const="opt_out")
    decision.add_argument("--dismiss", dest="resolution", action="store_const", const="dismiss")
    resolve.add_argument("--reason", required=True, help="why, for the audit")
    resolve.set_defaults(run=_resolve)


def _list(args: argparse.Namespace) -> int:
    return web_call(
        "review list", "GET", "/v1/review", query={"overdue": "1"} if args.overdue else None
    )


def _resolve(args: argparse.Namespace) -> int:
    body = {"resolution": args.resolution, "reason": args.reason}
    return web_call("review resolve", "POST", f"/v1/review/{args.review_id}", body)
