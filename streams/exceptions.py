"""The errors the service reports to whoever started it; each message says what to check."""

from __future__ import annotations

__all__ = ["BrokerUnavailable", "ConsentUnknown", "RETRY_AFTER_SECONDS", "RebalanceUnderWay"]

# What a caller told "unknown" is asked to wait before asking again (HTTP Retry-After).
RETRY_AFTER_SECONDS = 1


class BrokerUnavailable(RuntimeError):
    """The broker could not be started or reached; the message says what to check."""


class ConsentUnknown(RuntimeError):
    """The copy of the block list that would answer may be behind (recovering, replaying a
    standby, reassigned, or not yet read to the end offsets it saw at start; or the settings
    that say a number's scope are not read yet). Never read as "not blocked": HTTP answers 503
    with Retry-After, the gate waits, a reader's caller must try again."""


class RebalanceUnderWay(RuntimeError):
    """A wait for another agent's progress was cut short by a rebalance: the rebalance waits for
    every record in hand to be acknowledged, and the progress waited for (a partition another
    worker classifies, or records not fetched yet) cannot come until it ends. The waiting record
    is put back on its topic, to be handled again afterwards."""
