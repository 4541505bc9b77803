"""`optout bench classify`: classifications per second of the keyword classifier alone, on a
realistic mix, against the cheapest pass over the same texts."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

from optout.streams.bench.traffic import inbound_texts
from optout.streams.rules.keywords import classify_text

__all__ = ["CLASSIFY_TARGET_PER_SECOND", "bench_classify"]

CLASSIFY_TARGET_PER_SECOND = 200_000


def _rate(work: Callable[[str], object], texts: list[str], rounds: int) -> float:
    best = 0.0
    for _ in range(rounds):
        started = time.perf_counter()
        for text in texts:
            work(text)
        best = max(best, len(texts) / (time.perf_counter() - started))
    return best


def bench_classify(messages: int, rounds: int = 3) -> dict[str, object]:
    """Classifications per second on one core, against the cheapest pass over the same texts."""
    texts = inbound_texts(messages)
    classify_text(texts[0])  # warm caches
    baseline = _rate(lambda t: t.upper().split(), texts, rounds)
    rate = _rate(classify_text, texts, rounds)
    intents = Counter(classify_text(t).intent.value for t in texts)
    return {
        "messages": messages,
        "classifications_per_second": round(rate),
        "baseline_upper_split_per_second": round(baseline),
        "ratio_to_baseline": round(rate / baseline, 3),
        "target_per_second": CLASSIFY_TARGET_PER_SECOND,
        "meets_target": rate >= CLASSIFY_TARGET_PER_SECOND,
        "intents": dict(intents),
    }
