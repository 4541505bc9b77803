"""The operator console's pages, rendered on the server. Pure: each function takes what the
service knows (lookup answers, history events, settings, queue items, figures) and returns
escaped HTML. Changes are forms the page's script sends to the HTTP API with the admin token;
nothing is loaded from outside the service."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from optout.streams.rules.evidence import opt_in_text, spreadsheet_safe
from optout.streams.rules.lookup_answers import iso

__all__ = [
    "PAGE_HEADERS",
    "REPLICA_NAV",
    "SENDERS_PER_PAGE",
    "WORKER_NAV",
    "asset",
    "blocked_senders_csv",
    "brand_form",
    "brand_page",
    "cannot_show",
    "csv_headers",
    "figures_page",
    "figures_section",
    "home_page",
    "message_page",
    "number_from_query",
    "number_page",
    "page",
    "pair_page",
    "queues_page",
]

WORKER_NAV = (
    ("/console/pair", "Pair"),
    ("/console/number", "Number"),
    ("/console/brand", "Brand"),
    ("/console/queues", "Work queues"),
    ("/console/figures", "Live figures"),
    ("/openapi.json", "HTTP API"),
)
REPLICA_NAV = WORKER_NAV[:2] + WORKER_NAV[-1:]
SENDERS_PER_PAGE = 50
# Sent with every page: nothing but the service's own stylesheet and script may load or run.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; form-action 'self'; frame-ancestors 'none'"
}
STATIC = Path(__file__).parent / "static"
CONTENT_TYPES = {
    "console.css": "text/css",
    "console.js": "text/javascript",
    "favicon.svg": "image/svg+xml",
}

DETAILS = (  # a timeline entry's fields, in order, and their labels
    ("text", "message text"),
    ("keyword", "keyword"),
    ("rule", "rule"),
    ("ruleset", "ruleset"),
    ("confirmation", "confirmation sent"),
    ("actor", "changed by"),
    ("reason", "reason"),
    ("scope", "scope"),
    ("business_number", "number texted"),
    ("message_id", "message or command"),
    ("kinds", "kinds of message"),
    ("answered_send", "answering the send"),
    ("answered_kind", "of kind"),
    ("origin", "from"),
)


def page(title: str, body: str, nav: Iterable[tuple[str, str]], current: str = "",
         state: str = "") -> str:  # fmt: skip
    """A whole console page. `state` changes whenever what the page shows changes: the script
    waits for it after a change is accepted."""
    links = "".join(
        f"<li><a href='{href}'{' aria-current=page' if href == current else ''}>{label}</a></li>"
        for href, label in nav
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)} · Opt-Out Assist</title>"
        "<link rel='stylesheet' href='/console/static/console.css'>"
        "<link rel='icon' href='/console/static/favicon.svg' type='image/svg+xml'>"
        "<script src='/console/static/console.js' defer></script></head><body>"
        "<a class='skip' href='#content'>Skip to content</a>"
        "<header><strong><a href='/console'>Opt-Out Assist</a></strong>"
        f"<nav aria-label='Console'><ul>{links}</ul></nav>"
        "<div class='token'><label for='token'>Token</label>"
        "<input id='token' type='password' autocomplete='off' size='14' "
        "aria-describedby='token-hint'><span id='token-hint' class='muted'>"
        "admin token, for changes</span></div></header>"
        f"<main id='content' data-state=\"{escape(state)}\"><h1>{escape(title)}</h1>{body}</main>"
        "</body></html>"
    )


def asset(name: str) -> tuple[str, str] | None:
    """The console's stylesheet or script and its content type; None for any other name."""
    if name not in CONTENT_TYPES:
        return None
    return (STATIC / name).read_text(), CONTENT_TYPES[name]


def number_from_query(value: str) -> str:
    """A number from a query string, where a '+' sent unencoded arrives as a space."""
    value = value.strip()
    return f"+{value}" if value.isdigit() else value


def state_of(*parts: object) -> str:
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:12]


def home_page(nav: Iterable[tuple[str, str]]) -> str:
    body = (
        "<p>Answer “I texted STOP and still get messages” and “prove this user consented”: "
        "look up a pair, or a number and its blocked senders.</p>"
        f"<h2>A pair</h2>{pair_form('', '')}<h2>A number</h2>{number_form('')}"
    )
    return page("Operator console", body, nav, "/console")


def message_page(title: str, text: str, nav: Iterable[tuple[str, str]], form: str = "") -> str:
    """An error or refusal, said plainly, above the form to try again with."""
    return page(title, f"<p class='message' role='alert'>{escape(text)}</p>{form}", nav)


def cannot_show(
    title: str,
    form: str,
    nav: Iterable[tuple[str, str]],
    problem: str | None,
    refusal: str | None,
) -> tuple[str, int] | None:
    """The page and status for a request that cannot be answered: a malformed number (400), or
    no token where reading needs one (401); None when it can be."""
    for text, status in ((problem, 400), (refusal, 401)):
        if text:
            return message_page(title, text, nav, form), status
    return None


def pair_form(number: str, sender: str) -> str:
    return (
        "<form class='inline' method='get' action='/console/pair' role='search'>"
        f"<div><label for='number'>Business number</label>{_e164_input('number', number)}</div>"
        f"<div><label for='sender'>End user</label>{_e164_input('sender', sender)}</div>"
        "<button class='primary'>Look up</button></form>"
    )


def number_form(number: str) -> str:
    return (
        "<form class='inline' method='get' action='/console/number' role='search'>"
        f"<div><label for='number-only'>Business number</label>"
        f"{_e164_input('number', number, 'number-only')}</div>"
        "<button class='primary'>Show</button></form>"
    )


def _e164_input(name: str, value: str, ident: str | None = None) -> str:
    return (
        f"<input id='{ident or name}' name='{name}' value='{escape(value)}' required "
        "inputmode='tel' autocomplete='off' placeholder='+12125550100' "
        "pattern='\\+[1-9][0-9]{6,14}'>"
    )


def pair_page(
    number: str,
    sender: str,
    answer: dict[str, Any],
    history: list[dict] | None,
    nav: Iterable[tuple[str, str]],
) -> str:
    """Blocked or not, in which scope and why, the history as a timeline, the evidence, and the
    hand-made changes. `history` is None where it is not kept (a lookup replica)."""
    sections = [pair_form(number, sender), _verdict(answer)]
    if history is None:
        sections.append(
            "<p class='note'>This lookup replica keeps the block list only: the history, the "
            "evidence and changes are on the classify workers' console.</p>"
        )
    else:
        api = f"/v1/blocklist/{quote(number)}/{quote(sender)}"
        sections += [_timeline(history), _evidence_links(api), _change_form(api)]
    state = state_of(answer.get("blocked"), answer.get("since_ms"), len(history or []))
    return page(f"{sender} and {number}", "".join(sections), nav, "/console/pair", state)


def _verdict(answer: dict[str, Any]) -> str:
    number, sender = escape(answer["number"]), escape(answer["sender"])
    allowed = ", ".join(answer.get("allowed_kinds") or ())
    if answer["blocked"] and allowed:
        head = f"Blocked: {number} may not text {sender}, but for {escape(allowed)} messages."
    elif answer["blocked"]:
        head = f"Blocked: {number} may not text {sender}."
    else:
        head = f"Not blocked: {number} may text {sender}."
    css = "blocked" if answer["blocked"] else "open"
    relied = opt_in_text(answer.get("opt_in"))
    return (
        f"<p class='verdict {css}' role='status'>{head}</p>"
        f"<p>Scope <strong>{escape(answer['scope'])}</strong>. {escape(why(answer))}</p>"
        + (f"<p>Sends rely on the recorded opt-in: {escape(relied)}</p>" if relied else "")
    )


def why(answer: dict[str, Any]) -> str:
    """The deciding change in a sentence."""
    if not answer.get("since"):
        return "No opt-out or opt-in on record for this scope."
    change = "Blocked" if answer["blocked"] else "Unblocked"
    if answer.get("source") == "keyword":
        how = f"by {answer['keyword']} texted to {answer['texted']}"
    else:
        how = f"{answer.get('source') or 'by hand'} change: {answer.get('reason') or ''}"
    return f"{change} {how} at {answer['since']} ({answer.get('message_id')})."


def _timeline(history: list[dict]) -> str:
    if not history:
        return "<h2>History</h2><p class='muted'>No changes on record.</p>"
    items = "".join(_timeline_item(event) for event in reversed(history))
    return f"<h2>History</h2><p class='muted'>Newest first.</p><ol class='timeline'>{items}</ol>"


def _timeline_item(event: dict) -> str:
    opt_out = event["action"] == "OPT_OUT"
    what = "Blocked" if opt_out else "Unblocked"
    details = "".join(
        f"<dt>{label}</dt><dd>{escape(_shown_value(event[field]))}</dd>"
        for field, label in DETAILS
        if event.get(field) not in (None, "", [])
    )
    if recorded := opt_in_text(event.get("opt_in")):
        details += f"<dt>opt-in record</dt><dd>{escape(recorded)}</dd>"
    when = iso(event["occurred_at"])
    return (
        f"<li class='{'blocked' if opt_out else 'opt-in'}'><strong>{what}</strong> "
        f"({escape(event['source'])}) <time datetime='{when}'>{when}</time><dl>{details}</dl></li>"
    )


def _evidence_links(api: str) -> str:
    return (
        "<h2>Evidence</h2><p>Everything a consent dispute asks for: "
        f"<a href='{api}/evidence?format=html'>printable page</a> · "
        f"<a href='{api}/evidence' download='evidence.json'>JSON download</a></p>"
    )


def _change_form(api: str) -> str:
    return (
        "<h2>Change by hand</h2>"
        f"<form data-api='{api}'><label for='reason'>Reason (kept in the history)</label>"
        "<textarea id='reason' name='reason' required></textarea><p class='inline'>"
        "<button class='danger' data-method='POST'>Block</button> "
        "<button data-method='DELETE'>Unblock</button></p>"
        "<p role='status' aria-live='polite'></p></form>"
    )


def number_page(
    number: str,
    settings: dict[str, Any] | None,
    senders: list[dict],
    after: str | None,
    nav: Iterable[tuple[str, str]],
) -> str:
    """A number's settings (None where not kept), and a page of its blocked senders (at most
    SENDERS_PER_PAGE: a full page links the next)."""
    next_after = senders[-1]["sender"] if len(senders) == SENDERS_PER_PAGE else None
    sections = [number_form(number)]
    if settings is not None:
        sections.append(_settings_table(settings))
    sections.append(_senders_table(number, senders, after, next_after))
    return page(f"Number {number}", "".join(sections), nav, "/console/number",
                state_of(settings, senders))  # fmt: skip


def brand_form(brand_id: str) -> str:
    return (
        "<form class='inline' method='get' action='/console/brand' role='search'>"
        "<div><label for='brand'>Brand id</label><input id='brand' name='brand' required "
        f"value='{escape(brand_id)}' autocomplete='off' pattern='[A-Za-z0-9][A-Za-z0-9_.\\-]*'>"
        "</div><button class='primary'>Show</button></form>"
    )


def brand_page(brand: dict[str, Any], numbers: list[str], nav: Iterable[tuple[str, str]]) -> str:
    """A brand's settings and numbers, and a form for its kinds of message (rules/kinds.py)."""
    sections = [
        brand_form(brand["brand_id"]),
        _settings_table(brand | {"numbers": numbers}),
        _kinds_form(brand),
    ]
    return page(f"Brand {brand['brand_id']}", "".join(sections), nav, "/console/brand",
                state_of(brand.get("updated_at")))  # fmt: skip


def _kinds_form(brand: dict[str, Any]) -> str:
    """The brand's kinds of message; the script sends them as JSON (lists, booleans, numbers as
    each field's data-type says)."""
    api = f"/v1/brands/{quote(brand['brand_id'])}"

    def switch(name: str, label: str) -> str:
        chosen = "on" if brand.get(name) else "off"
        options = "".join(
            f"<option{' selected' if value == chosen else ''}>{value}</option>"
            for value in ("off", "on")
        )
        return (
            f"<div><label for='{name}'>{label}</label>"
            f"<select id='{name}' name='{name}' data-type='bool'>{options}</select></div>"
        )

    kinds = ", ".join(brand.get("kinds") or ()) or "marketing, informational"
    return (
        "<h2>Kinds of message</h2><p class='muted'>Each kind is marketing, informational or "
        "exempt (kind:class). A STOP blocks every kind that needs consent, unless the brand is "
        "kind-aware: then a STOP answering a marketing send blocks marketing only.</p>"
        f"<form data-api='{api}' data-method='PUT' data-done='Stored. Reload to see it.'>"
        "<div><label for='kinds'>Kinds</label><input id='kinds' name='kinds' data-type='list' "
        f"value='{escape(kinds)}' autocomplete='off'></div>"
        "<div><label for='default_kind'>Default kind of a send</label><input id='default_kind' "
        f"name='default_kind' value='{escape(brand.get('default_kind') or '')}' "
        "placeholder='marketing' autocomplete='off'></div>"
        f"{switch('kind_aware', 'Kind-aware STOPs')}{switch('clarify', 'Ask which kinds to stop')}"
        f"{switch('recorded_consent', 'Marketing only on a recorded opt-in')}"
        "<div><label for='clarify_window_hours'>Hours an answer is taken</label>"
        "<input id='clarify_window_hours' name='clarify_window_hours' type='number' min='1' "
        f"max='720' data-type='int' value='{int(brand.get('clarify_window_hours') or 24)}'></div>"
        "<p><button class='primary'>Store</button></p>"
        "<p role='status' aria-live='polite'></p></form>"
    )


def _settings_table(settings: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><th scope='row'>{escape(field.replace('_', ' '))}</th>"
        f"<td>{escape(_shown_value(value))}</td></tr>"
        for field, value in settings.items()
    )
    return f"<h2>Settings</h2><div class='scroll'><table>{rows}</table></div>"


def _shown_value(value: Any) -> str:
    if value is None or value == [] or value == {}:
        return "—"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def _senders_table(number: str, senders: list[dict], after: str | None, next_after: str | None
                   ) -> str:  # fmt: skip
    here = f"/console/number?{urlencode({'number': number})}"
    rows = "".join(
        f"<tr><td><a href='/console/pair?{urlencode({'number': number, 'sender': s['sender']})}'>"
        f"{escape(s['sender'])}</a></td><td>{escape(iso(s.get('since')) or '')}</td>"
        f"<td>{escape(str(s.get('keyword') or s.get('source') or ''))}</td></tr>"
        for s in senders
    )
    links = [f"<a href='/console/number.csv?{urlencode({'number': number})}'>CSV export</a>"]
    if after:
        links.insert(0, f"<a href='{here}'>First page</a>")
    if next_after:
        links.append(
            f"<a href='{here}&{urlencode({'after': next_after})}' rel='next'>Next page</a>"
        )
    table = (
        "<div class='scroll'><table><caption class='muted'>Blocked senders"
        f"{' after ' + escape(after) if after else ''}</caption><thead><tr><th scope='col'>"
        "End user</th><th scope='col'>Since</th><th scope='col'>Why</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></div>"
    )
    empty = "" if senders else "<p class='muted'>No blocked senders on this page.</p>"
    return f"<h2>Blocked senders</h2>{table}{empty}<p>{' · '.join(links)}</p>"


def queues_page(reviews: list[dict], dead_letters: list[dict], now_ms: int,
                nav: Iterable[tuple[str, str]]) -> str:  # fmt: skip
    """Messages flagged for review, and dead letters with their reasons, each actionable."""
    body = _reviews(reviews, now_ms) + _dead_letters(dead_letters)
    state = state_of([r["review_id"] for r in reviews], len(dead_letters))
    return page("Work queues", body, nav, "/console/queues", state)


def _reviews(reviews: list[dict], now_ms: int) -> str:
    if not reviews:
        return "<h2>Flagged for review</h2><p class='muted'>Nothing waits for review.</p>"
    items = "".join(_review_item(item, now_ms) for item in reviews)
    return f"<h2>Flagged for review ({len(reviews)})</h2><ol>{items}</ol>"


def _review_item(item: dict, now_ms: int) -> str:
    ident = escape(item["review_id"])
    due = iso(item["due_at"])
    late = " <span class='overdue'>overdue</span>" if item["due_at"] < now_ms else ""
    return (
        f"<li><p>“{escape(item['text'] or '')}” from {escape(item['end_user_number'])} to "
        f"{escape(item['business_number'])}, due <time datetime='{due}'>{due}</time>{late}</p>"
        f"<form data-api='/v1/review/{quote(item['review_id'])}'>"
        f"<label for='reason-{ident}'>Reason</label>"
        f"<textarea id='reason-{ident}' name='reason' required></textarea><p>"
        "<button class='danger' name='resolution' value='opt_out'>Opt out</button> "
        "<button name='resolution' value='dismiss'>Dismiss</button></p>"
        "<p role='status' aria-live='polite'></p></form></li>"
    )


def _dead_letters(dead_letters: list[dict]) -> str:
    if not dead_letters:
        return "<h2>Dead letters</h2><p class='muted'>No dead letters.</p>"
    rows = "".join(_dead_letter_row(d) for d in dead_letters)
    return (
        f"<h2>Dead letters ({len(dead_letters)})</h2><div class='scroll'><table><thead><tr>"
        "<th scope='col'>Failed at</th><th scope='col'>From topic</th><th scope='col'>Message"
        "</th><th scope='col'>Reason</th><th scope='col'>Action</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></div>"
    )


def _dead_letter_row(dead: dict) -> str:
    if dead["replayable"]:
        action = (
            f"<form data-api='/v1/dead-letters/{quote(dead['id'])}/replay' "
            "data-done='Replayed: back on its topic, delivered with its Idempotency-Key.'>"
            f"<button aria-label='Replay {escape(dead['id'])}'>Replay</button>"
            "<p role='status' aria-live='polite'></p></form>"
        )
    else:
        action = "<span class='muted'>not replayable</span>"
    return (
        f"<tr><td>{escape(dead['failed_at'])}</td><td>{escape(dead['source_topic'])}</td>"
        f"<td>{escape(dead.get('summary') or '')}</td><td>{escape(dead['reason'])}</td>"
        f"<td>{action}</td></tr>"
    )


def figures_page(figures: dict[str, Any], nav: Iterable[tuple[str, str]]) -> str:
    body = (
        "<p class='muted'>This worker's figures since it started, refreshed every 2 seconds."
        "</p><div data-refresh='/console/figures?part=figures' aria-live='polite'>"
        f"{figures_section(figures)}</div>"
    )
    return page("Live figures", body, nav, "/console/figures")


def figures_section(figures: dict[str, Any]) -> str:
    """The figures' cards: the part the script refreshes."""
    cards = "".join(
        f"<section><h2>{escape(title)}</h2>{_figure_rows(rows)}</section>"
        for title, rows in figures.items()
    )
    return f"<div class='figures'>{cards}</div>"


def _figure_rows(rows: dict[str, Any]) -> str:
    if not rows:
        return "<p class='muted'>none yet</p>"
    cells = "".join(
        f"<tr><th scope='row'>{escape(name)}</th><td>{escape(str(value))}</td></tr>"
        for name, value in rows.items()
    )
    return f"<table>{cells}</table>"


def csv_headers(number: str) -> dict[str, str]:
    """The CSV export's download headers."""
    return {"Content-Disposition": f"attachment; filename=blocked-senders-{number.lstrip('+')}.csv"}


def blocked_senders_csv(number: str, scope: str, senders: list[dict]) -> str:
    """The senders blocked in a number's scope as CSV; free text cannot start a formula."""
    output = io.StringIO()
    writer = csv.writer(output)
    writer.writerow(["number", "scope", "sender", "since", "texted", "source", "keyword", "reason"])
    for s in senders:
        free_text = [spreadsheet_safe(s.get(field)) for field in ("keyword", "reason")]
        writer.writerow([number, scope, s["sender"], iso(s["since"]), s["texted"], s["source"],
                         *free_text])  # fmt: skip
    return output.getvalue()
