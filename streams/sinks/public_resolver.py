"""The name resolver of webhook deliveries: the address connected to is the address checked, so a
name that resolves to a private or cloud-metadata address is refused (rules: destinations.py)."""

from __future__ import annotations

import socket
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from optout.streams.rules.destinations import HOW_TO_ALLOW, DestinationRefused, refusal_for_address

__all__ = ["PublicOnlyResolver", "resolver"]


class PublicOnlyResolver(AbstractResolver):
    """Resolves names and refuses those with any non-public address."""

    def __init__(self, allowed_hosts: frozenset[str] = frozenset()) -> None:
        self._resolver = ThreadedResolver()
        self.allowed_hosts = allowed_hosts

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._resolver.resolve(host, port, family)
        if f"{host}:{port}" in self.allowed_hosts:
            return results
        for result in results:
            reason = refusal_for_address(result["host"])
            if reason:
                raise DestinationRefused(f"{host} resolves to {reason} {HOW_TO_ALLOW}")
        return results

    async def close(self) -> None:
        await self._resolver.close()


def resolver(allow_private: bool, allowed_hosts: frozenset[str] = frozenset()) -> Any:
    """The resolver webhook deliveries use."""
    return ThreadedResolver() if allow_private else PublicOnlyResolver(allowed_hosts)
