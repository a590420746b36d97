"""A loopback HTTP proxy in front of the simulated portal that serves narrower readings of the reference.

Each rule matches a request path and either answers with a status of its own (an
endpoint failing for good, a 404 on one attendance path) or rewrites the JSON
body the portal sent (a field the reference's attribute table does not list, an
empty search). Everything else is forwarded as it is, headers included.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import orjson


@dataclass
class Rule:
    pattern: str  # a regular expression on the path and query, e.g. r"^/api/v1/badges"
    status: int | None = None  # answer this status instead of forwarding
    rewrite: Callable[[Any], Any] | None = None  # body -> new body
    hits: int = 0


@dataclass
class PortalProxy:
    upstream: str  # the portal's root URL, e.g. http://127.0.0.1:1234
    rules: list[Rule] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/v1"

    def start(self) -> PortalProxy:
        proxy = self
        client = httpx.Client(base_url=self.upstream, timeout=30)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                for rule in proxy.rules:
                    if re.search(rule.pattern, self.path):
                        rule.hits += 1
                        if rule.status is not None:
                            body = orjson.dumps({"message": f"proxy rule: {rule.status}"})
                            self._send(rule.status, {"Content-Type": "application/json"}, body)
                            return
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "accept")}
                upstream = client.get(self.path, headers=headers)
                body = upstream.content
                for rule in proxy.rules:
                    if rule.rewrite is not None and re.search(rule.pattern, self.path) and upstream.status_code == 200:
                        body = orjson.dumps(rule.rewrite(orjson.loads(body)))
                keep = {k: v for k, v in upstream.headers.items() if k.lower().startswith(("lu-", "x-lu-", "date", "content-type"))}
                self._send(upstream.status_code, keep, body)

            def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response_only(status)  # no Date of our own: the portal's clock is the one forwarded
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def drop_field(name: str, keys: tuple[str, ...]) -> Callable[[Any], Any]:
    """A rewrite that removes `name` from every record, wherever the records are wrapped."""

    def rewrite(body: Any) -> Any:
        records = body
        if isinstance(body, dict):
            for key in keys:
                if key in body:
                    records = body[key]
                    break
        for record in records if isinstance(records, list) else []:
            if isinstance(record, dict):
                record.pop(name, None)
        return body

    return rewrite
