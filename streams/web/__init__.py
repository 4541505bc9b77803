"""The worker's web side that is not a table view: health and readiness, `/metrics`, tokens."""
