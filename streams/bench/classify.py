"""`optout bench classify`: classifications per second of the keyword classifier alone, on a
realistic mix, against the cheapest pass over the same texts; then the mix's ordinary texts (no
keyword and no revocation cue: they leave after one set intersection) and its texts with a cue
(keywords, and sentences like "I'll stop by later" that the rules must read) on their own."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

from optout.streams.bench.traffic import inbound_texts
from optout.streams.rules.keywords import classify_text, has_cue

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
    """Classifications per second on one core, against the cheapest pass over the same texts.

    The target (issue 26) is for ordinary texts; the mix and the texts with a cue are reported.
    """
    texts = inbound_texts(messages)
    classify_text(texts[0])  # warm caches
    ordinary = [t for t in texts if not has_cue(t)]
    with_cue = [t for t in texts if has_cue(t)]
    baseline = _rate(lambda t: t.upper().split(), texts, rounds)
    rate = _rate(classify_text, texts, rounds)
    ordinary_rate = _rate(classify_text, ordinary, rounds)
    cue_rate = _rate(classify_text, with_cue, rounds)
    intents = Counter(classify_text(t).intent.value for t in texts)
    return {
        "messages": messages,
        "classifications_per_second": round(rate),
        "baseline_upper_split_per_second": round(baseline),
        "ratio_to_baseline": round(rate / baseline, 3),
        "ordinary_texts": len(ordinary),
        "ordinary_per_second": round(ordinary_rate),
        "texts_with_a_cue": len(with_cue),
        "with_a_cue_per_second": round(cue_rate),
        "target_per_second": CLASSIFY_TARGET_PER_SECOND,
        # `meets_target` is the mix's, as it has been since the benchmark began; the issue's
        # target is for ordinary texts (`ordinary_meets_target`).
        "meets_target": rate >= CLASSIFY_TARGET_PER_SECOND,
        "ordinary_meets_target": ordinary_rate >= CLASSIFY_TARGET_PER_SECOND,
        "intents": dict(intents),
    }
