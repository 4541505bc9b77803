"""A minimal Confluent Schema Registry client: register a subject's schema, fetch a schema by id."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

__all__ = ["CONTENT_TYPE", "SchemaRegistry"]

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class SchemaRegistry:
    """Talks to a Schema Registry over HTTP; caches what it learns (ids never change meaning)."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._schemas: dict[int, str] = {}

    def register(self, subject: str, schema_json: str) -> int:
        """Register (or find) a schema under a subject and return its global id."""
        body = json.dumps({"schema": schema_json}).encode()
        reply = self._request(f"/subjects/{subject}/versions", body)
        return int(reply["id"])

    def schema_by_id(self, schema_id: int) -> str:
        """The schema text registered under an id; LookupError when the registry has none."""
        if schema_id not in self._schemas:
            try:
                self._schemas[schema_id] = str(self._request(f"/schemas/ids/{schema_id}")["schema"])
            except urllib.error.HTTPError as exc:
                if exc.code == 404:
                    raise LookupError(
                        f"schema id {schema_id} is not in the schema registry"
                    ) from exc
                raise
        return self._schemas[schema_id]

    def _request(self, path: str, body: bytes | None = None) -> dict:
        request = urllib.request.Request(
            self.url + path,
            data=body,
            method="POST" if body is not None else "GET",
            headers={"Content-Type": CONTENT_TYPE, "Accept": CONTENT_TYPE},
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            return json.loads(response.read())
