"""The edge where records leave the pipeline over HTTP: deliveries, their retries and results."""
