"""The HTTP API of the tables: lookups, history, number settings (Faust web views)."""
