"""The edges where records leave the pipeline: HTTP deliveries (with retries) and dead letters."""
