"""The embedded broker (Tansu), the workarounds its quirks need, and the local stand-ins for
the carrier and customer HTTP endpoints."""
