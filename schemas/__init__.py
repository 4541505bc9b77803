"""Avro contracts of every topic: load a schema by name, encode and decode framed records.

Framing on the wire:
- with a Schema Registry: Confluent framing, 0x00 + 4-byte schema id (big-endian) + Avro body;
- without: Avro single-object encoding, 0xC3 0x01 + 8-byte CRC-64-AVRO fingerprint + Avro body.
Either way a consumer holding only the .avsc files can read every record.
"""

from __future__ import annotations

import io
import json
import struct
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import avro.schema
import fastavro

from optout.schemas.registry import SchemaRegistry

__all__ = [
    "AvroSerde",
    "CONFLUENT_MAGIC",
    "Contract",
    "DecodeError",
    "RELEASED_DIR",
    "Record",
    "SCHEMA_DIR",
    "SINGLE_OBJECT_MAGIC",
    "contract",
    "known_writer_schemas",
]

SCHEMA_DIR = Path(__file__).parent
RELEASED_DIR = SCHEMA_DIR / "released"

SINGLE_OBJECT_MAGIC = b"\xc3\x01"
CONFLUENT_MAGIC = b"\x00"

Record = dict[str, Any]


class DecodeError(ValueError):
    """The bytes are not a valid record of the expected contract; the message says why."""


@dataclass(frozen=True)
class Contract:
    """One Avro schema, parsed by `avro` (fingerprint) and by `fastavro` (the hot path)."""

    name: str
    schema_json: str
    parsed: Any
    fingerprint: bytes

    @classmethod
    def from_file(cls, path: Path) -> Contract:
        text = path.read_text()
        fingerprint = avro.schema.parse(text).fingerprint("CRC-64-AVRO")
        return cls(path.stem, text, fastavro.parse_schema(json.loads(text)), fingerprint)


@cache
def contract(name: str) -> Contract:
    """The current schema of a contract, by file name without `.avsc` (e.g. `inbound_message`)."""
    path = SCHEMA_DIR / f"{name}.avsc"
    if not path.exists():
        raise KeyError(f"no Avro schema {name!r} in {SCHEMA_DIR}")
    return Contract.from_file(path)


@cache
def known_writer_schemas() -> dict[bytes, Contract]:
    """Every current and released schema by fingerprint: what a single-object record may carry."""
    paths = [*SCHEMA_DIR.glob("*.avsc"), *RELEASED_DIR.glob("*.avsc")]
    return {c.fingerprint: c for c in map(Contract.from_file, sorted(paths))}


class AvroSerde:
    """Encodes and decodes the records of one contract on one topic."""

    def __init__(self, name: str, topic: str, registry: SchemaRegistry | None = None) -> None:
        self.contract = contract(name)
        self.registry = registry
        if registry is None:
            self._header = SINGLE_OBJECT_MAGIC + self.contract.fingerprint
        else:
            schema_id = registry.register(f"{topic}-value", self.contract.schema_json)
            self._header = CONFLUENT_MAGIC + struct.pack(">I", schema_id)

    def encode(self, record: Record) -> bytes:
        body = io.BytesIO()
        body.write(self._header)
        fastavro.schemaless_writer(body, self.contract.parsed, record)
        return body.getvalue()

    def decode(self, data: bytes | None) -> Record:
        if not data:
            raise DecodeError("empty value: expected an Avro record")
        writer, body_start = self._writer_schema(data)
        body = io.BytesIO(data)
        body.seek(body_start)
        try:
            record = fastavro.schemaless_reader(body, writer, self.contract.parsed)
        except Exception as exc:  # fastavro raises many types for corrupt bodies
            raise DecodeError(
                f"corrupt or truncated Avro body for {self.contract.name}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if body.tell() != len(data):
            raise DecodeError(
                f"{len(data) - body.tell()} unexpected bytes after the {self.contract.name} record"
            )
        return record  # type: ignore[return-value]

    def _writer_schema(self, data: bytes) -> tuple[Any, int]:
        if data.startswith(SINGLE_OBJECT_MAGIC):
            fingerprint = data[2:10]
            if fingerprint == self.contract.fingerprint:
                # The same canonical form (docs aside): read as written, without resolving
                # against a released copy whose docs differ (fastavro resolves on any change).
                return self.contract.parsed, 10
            writer = known_writer_schemas().get(fingerprint)
            if writer is None:
                raise DecodeError(
                    f"unknown schema fingerprint {fingerprint.hex()}: not one of the .avsc "
                    f"contracts this service knows (expected {self.contract.name})"
                )
            return writer.parsed, 10
        if data.startswith(CONFLUENT_MAGIC) and len(data) >= 5:
            (schema_id,) = struct.unpack(">I", data[1:5])
            if self.registry is None:
                raise DecodeError(
                    f"Confluent-framed record (schema id {schema_id}) but no schema registry "
                    "is configured (set OPTOUT_SCHEMA_REGISTRY_URL)"
                )
            try:
                return fastavro.parse_schema(json.loads(self.registry.schema_by_id(schema_id))), 5
            except LookupError as exc:
                raise DecodeError(str(exc)) from exc
        raise DecodeError(
            f"not an Avro record: starts with {data[:4].hex()}, expected single-object "
            "framing (c301) or Confluent framing (00 + schema id)"
        )
