"""The performance peer: Quix Streams doing classify's job shape on the same broker, in a
process of its own (`python -m optout.streams.bench.quix_peer BOOTSTRAP STATE_DIR`).

It consumes `bench-quix-in`, keeps a count per key in its RocksDB state (with a changelog
topic, as classify keeps its tables), and produces two records for each record consumed. Quix
Streams comes from the `peers` extra (`pip install -e ".[peers]"`); without it the benchmark
skips the row and says so.
"""

from __future__ import annotations

import importlib.util
import sys
import time

__all__ = ["OUTPUT_TOPICS", "SOURCE_TOPIC", "available", "main"]

SOURCE_TOPIC = "bench-quix-in"
OUTPUT_TOPICS = ("bench-quix-out", "bench-quix-seen")


def available() -> bool:
    """Whether Quix Streams is installed."""
    return importlib.util.find_spec("quixstreams") is not None


def main(bootstrap: str, state_dir: str) -> None:
    from quixstreams import Application

    app = Application(
        broker_address=bootstrap,
        consumer_group="bench-quix",
        auto_offset_reset="earliest",
        state_dir=state_dir,
        use_changelog_topics=True,
        # The embedded broker holds a group join for half the session timeout (45 s by default).
        consumer_extra_config={"session.timeout.ms": 6000, "heartbeat.interval.ms": 2000},
    )
    source = app.topic(SOURCE_TOPIC, key_deserializer="bytes", value_deserializer="bytes")
    frame = app.dataframe(source)

    def count(value: bytes, state) -> None:  # type: ignore[no-untyped-def]
        state.set("seen", state.get("seen", 0) + 1)

    frame = frame.update(count, stateful=True)
    # Quix gives an output the input's timestamp; the benchmark times outputs by when they were
    # produced, as aiokafka and Faust stamp them.
    frame = frame.set_timestamp(lambda value, key, timestamp, headers: int(time.time() * 1000))
    for name in OUTPUT_TOPICS:
        frame = frame.to_topic(app.topic(name, key_serializer="bytes", value_serializer="bytes"))
    app.run()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
