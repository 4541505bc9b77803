"""A realistic mix of inbound texts for benchmarks and demos: about 5% opt-out, 1% opt-in,
1% help, the rest ordinary conversation (some with emoji, accents or keyword look-alike words)."""

from __future__ import annotations

import random

from optout.streams.rules.regions import STATES_AND_PROVINCES, area_codes_of

__all__ = [
    "HELP_TEXTS",
    "OPT_IN_TEXTS",
    "OPT_OUT_TEXTS",
    "ORDINARY_TEXTS",
    "bench_number",
    "inbound_records",
    "inbound_texts",
]

OPT_OUT_TEXTS = (
    "STOP", "stop", "Stop.", "STOP!", "unsubscribe", "Stop please", "STOP texting me",
    "ＳＴＯＰ", "ЅТОР", "Arrêt", "cancel", "quit", "please remove me from your list", "🛑 STOP",
)  # fmt: skip
OPT_IN_TEXTS = ("START", "start", "Unstop", "RESUME", "yes")
HELP_TEXTS = ("HELP", "help", "Help?", "INFO", "AIDE", "ayuda")
ORDINARY_TEXTS = (
    "Is the store open on Sunday?", "Thanks, see you at {h}", "ok", "Yes I will be there",
    "Can you help me find my order number?", "What time do you start tomorrow?",
    "I'll stop by the store later", "Running {m} min late, sorry!", "Great, thank you 😊",
    "Where can I find more info about pricing?", "Can we move my appointment to Friday at {h}pm",
    "👍", "Order #{n} arrived damaged, what now?", "When does the sale end?",
    "Merci beaucoup, à demain", "¿Tienen envío gratis?", "Sounds good", "Who is this?",
    "My code is {n}", "Can I change the delivery address to 12 Main St?",
)  # fmt: skip


def inbound_texts(count: int, seed: int = 7) -> list[str]:
    """`count` texts drawn from the mix, reproducibly."""
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.05:
            texts.append(rng.choice(OPT_OUT_TEXTS))
        elif roll < 0.06:
            texts.append(rng.choice(OPT_IN_TEXTS))
        elif roll < 0.07:
            texts.append(rng.choice(HELP_TEXTS))
        else:
            template = rng.choice(ORDINARY_TEXTS)
            texts.append(
                template.format(
                    h=rng.randint(1, 12), m=rng.randint(2, 30), n=rng.randint(1000, 99999)
                )
            )
    return texts


def bench_number(n: int) -> str:
    """The n-th of 4.3 million numbers in the 555 exchange of a real area code. The first 43,300
    are the lines reserved for fiction (555-0100 to 555-0199); benchmarks with more senders than
    that go on into the exchange's other lines. Nothing is ever sent to them: benchmarks talk to
    127.0.0.1 only. The area codes are those of the states and provinces, not the territories
    the service also counts as the USA: the sequence stays the one earlier benchmark results and
    tests were made with."""
    area_codes = area_codes_of(STATES_AND_PROVINCES)
    line, area = divmod(n, len(area_codes))
    return f"+1{area_codes[area]}555{_LINES_FICTION_FIRST[line]:04d}"


_LINES_FICTION_FIRST = (*range(100, 200), *range(0, 100), *range(200, 10_000))


def inbound_records(count: int, prefix: str) -> list[tuple[bytes, dict]]:
    """Realistic inbound messages: many numbers and senders, about 5% MMS."""
    rng = random.Random(len(prefix) + count)
    records = []
    for n, text in enumerate(inbound_texts(count, seed=count)):
        business = bench_number(rng.randrange(200))
        sender = bench_number(200 + rng.randrange(50_000))
        mms = rng.random() < 0.05
        message = {
            "message_id": f"{prefix}-{n}",
            "channel": "MMS" if mms else "SMS",
            "from_number": sender,
            "to_number": business,
            "text": text,
            "media_urls": [f"https://media.example/{n}.jpg"] if mms else [],
            "received_at": 0,
            "carrier": "bench",
        }
        records.append((sender.encode(), message))
    return records
