"""The tables (block list, audit history, per-number settings) and their key; readers from
outside a worker in `client/`, the HTTP API in `views/`."""
