"""The Service proxy subresource, forwarding to locally registered backends.

There are no pods here, so a Service "has endpoints" when a backend URL is
registered for it: `--proxy-backend 'NAMESPACE_GLOB/SERVICE_GLOB:PORT=URL'`.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

import aiohttp
from aiohttp import web

# Hop-by-hop headers (RFC 9110 7.6.1) plus the ones aiohttp recomputes.
_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
        "transfer-encoding", "upgrade", "host", "content-length", "authorization"}


@dataclass
class Backend:
    namespace: str
    service: str
    port: str
    url: str

    def matches(self, namespace: str, service: str, port: str) -> bool:
        return (fnmatch.fnmatchcase(namespace, self.namespace) and fnmatch.fnmatchcase(service, self.service)
                and fnmatch.fnmatchcase(port, self.port))

    def to_dict(self) -> dict:
        return {"namespace": self.namespace, "service": self.service, "port": self.port, "url": self.url}


def parse_backend(text: str) -> Backend:
    """Parse 'NAMESPACE_GLOB/SERVICE_GLOB:PORT=URL' (PORT may be a glob too)."""
    target, sep, url = text.partition("=")
    namespace, slash, rest = target.partition("/")
    service, colon, port = rest.rpartition(":")
    if not sep or not slash or not colon or not url or not service or not port:
        raise ValueError("proxy backend %r must look like 'NAMESPACE_GLOB/SERVICE_GLOB:PORT=URL', "
                         "e.g. '*/ollama*:11434=http://127.0.0.1:21434'" % text)
    if not url.startswith(("http://", "https://")):
        raise ValueError("proxy backend %r: URL must start with http:// or https://" % text)
    return Backend(namespace, service, port, url.rstrip("/"))


def split_service_ref(ref: str) -> tuple[str, str | None]:
    """'name', 'name:port' or 'scheme:name:port' -> (name, port or None)."""
    parts = ref.split(":")
    if len(parts) == 3:
        return parts[1], parts[2] or None
    if len(parts) == 2:
        if parts[0] in ("http", "https"):
            return parts[1], None
        return parts[0], parts[1] or None
    return parts[0], None


def resolve_port(service: dict, port: str | None) -> str | None:
    ports = (service.get("spec") or {}).get("ports") or []
    if port is None:
        return str(ports[0]["port"]) if ports else None
    for entry in ports:
        if port == entry.get("name") or port == str(entry.get("port")):
            return str(entry["port"])
    return None


async def forward(request: web.Request, session: aiohttp.ClientSession, base_url: str, path: str) -> web.StreamResponse:
    headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
    url = base_url + "/" + path.lstrip("/")
    body = request.content if request.can_read_body else None
    async with session.request(request.method, url, params=list(request.query.items()), headers=headers,
                               data=body, allow_redirects=False, auto_decompress=False) as upstream:
        response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
        for key, value in upstream.headers.items():
            if key.lower() not in _HOP:
                response.headers.add(key, value)
        await response.prepare(request)
        # Ollama streams NDJSON: pass each chunk on as soon as it arrives.
        async for chunk in upstream.content.iter_any():
            await response.write(chunk)
        await response.write_eof()
        return response
