"""The errors the service reports to whoever started it; each message says what to check."""

from __future__ import annotations

__all__ = ["BrokerUnavailable"]


class BrokerUnavailable(RuntimeError):
    """The broker could not be started or reached; the message says what to check."""
