"""What the gateway's requests need beyond the common dependencies."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask_smorest import Api
from shared.web import Dependencies

from gateway.aggregates import Customer360
from gateway.clients import ServiceClient
from gateway.identity import KeyStore
from gateway.ssrf import UrlGuard
from gateway.tokens import TokenIssuer


@dataclass(kw_only=True)
class GatewayDeps(Dependencies):
    keys: KeyStore
    issuer: TokenIssuer
    routes: list[tuple[re.Pattern, str]]
    clients: dict[str, ServiceClient]
    customer360: Customer360
    url_guard: UrlGuard = field(default_factory=UrlGuard)  # where webhooks may point
    rest: Api | None = None  # the gateway's own routes, for the merged OpenAPI document
    documents: dict[str, dict] = field(default_factory=dict)  # OpenAPI and AsyncAPI, built once
