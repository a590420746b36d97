"""HTTP/1.1 transport: auth, rate limits, faults, routing and control endpoints.

A threading server with keep-alive; each response is written with one send
(headers and body together) and TCP_NODELAY, so small pages are not held back
by Nagle's algorithm and delayed ACKs.
"""

from __future__ import annotations

import base64
import hmac
import json
import socket
from datetime import datetime
from email.utils import formatdate
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Optional
from urllib.parse import parse_qs, urlsplit

from .api import INVALID_PARAMETERS, ApiError, Params, Result
from .faults import route_key
from .routes import resolve

if TYPE_CHECKING:
    from .portal import SimulatedPortal

API_PREFIX = "/api/v1"
CONTROL_PREFIX = "/_sim"
REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
           429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}


def error_body(status: int, message: str) -> dict[str, Any]:
    return {"response_type": "ERROR", "response_code": status, "message": message}


class PortalServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], portal: "SimulatedPortal") -> None:
        self.portal = portal
        self._conn_lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._handler_threads: set[threading.Thread] = set()
        super().__init__(address, Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conn_lock:
            self._connections.add(request)
        thread = threading.Thread(target=self._serve_connection, args=(request, client_address), daemon=True)
        with self._conn_lock:
            self._handler_threads.add(thread)
        thread.start()

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:  # a client hanging up mid-request is not our problem
            pass
        finally:
            with self._conn_lock:
                self._connections.discard(request)
                self._handler_threads.discard(threading.current_thread())
            self.shutdown_request(request)

    def close_connections(self, timeout: float = 5.0) -> None:
        """Wake idle keep-alive handlers so their threads end, then join them."""
        with self._conn_lock:
            connections = list(self._connections)
            threads = list(self._handler_threads)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "LearnUponSimulator/1.0"
    timeout = 120  # idle keep-alive connections are closed after this
    server: PortalServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet by default
        pass

    # --- plumbing --------------------------------------------------------------
    def send(self, status: int, body: bytes, headers: Optional[dict[str, str]] = None,
             content_length: Optional[int] = None) -> None:
        lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}",
                 f"Server: {self.server_version}",
                 # the portal's clock, which churn moves ahead of the wall clock
                 f"Date: {formatdate(self.server.portal.now_ts(), usegmt=True)}",
                 "Content-Type: application/json; charset=utf-8",
                 f"Content-Length: {len(body) if content_length is None else content_length}"]
        for k, v in (headers or {}).items():
            lines.append(f"{k}: {v}")
        if self.close_connection:
            lines.append("Connection: close")
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)

    def send_json(self, status: int, obj: Any, headers: Optional[dict[str, str]] = None) -> None:
        self.send(status, json.dumps(obj, separators=(",", ":")).encode(), headers)

    def do_GET(self) -> None:
        self.dispatch("GET")

    def do_POST(self) -> None:
        self.dispatch("POST")

    def do_PUT(self) -> None:
        self.dispatch("PUT")

    def do_DELETE(self) -> None:
        self.dispatch("DELETE")

    # --- request flow -------------------------------------------------------------
    def read_body(self) -> Any:
        """The JSON body of a request (None when empty); raw text if it is not JSON."""
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return None
        raw = self.rfile.read(length)
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode("utf-8", "replace")

    def dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/") or "/"
        query = parse_qs(parts.query, keep_blank_values=True)
        body = self.read_body()
        if path.startswith(CONTROL_PREFIX):
            self.control(method, path[len(CONTROL_PREFIX):], query, body)
        elif path == API_PREFIX or path.startswith(API_PREFIX + "/"):
            self.api(method, path[len(API_PREFIX):], query, body)
        else:
            self.send_json(404, error_body(404, "Not found"))

    def authorised(self) -> bool:
        header = self.headers.get("Authorization") or ""
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:].strip()).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        username, secret = self.server.portal.keys
        return hmac.compare_digest(user, username) & hmac.compare_digest(password, secret)

    def api(self, method: str, path: str, query: dict[str, list[str]], body: Any = None) -> None:
        portal = self.server.portal
        limiter = portal.limiter

        def rate_headers(minute: int, week: int) -> dict[str, str]:
            return {"X-LU-Rate-Limit-Remaining-Minute": str(minute), "X-LU-Rate-Limit-Remaining-Week": str(week)}

        if not self.authorised():
            portal.count_call("401 (keys refused)")  # a refused call is still a call made: tests count them
            self.send_json(401, error_body(401, "Unauthorized: invalid API credentials"), rate_headers(*limiter.peek()))
            return
        if portal.config.latency_ms:
            time.sleep(portal.config.latency_ms / 1000)
        template, handler, args = resolve(method, path)
        # an endpoint fault hits every call of its endpoint; otherwise a random fault may
        fault = portal.faults.endpoint_fault(template) or portal.faults.draw()
        if fault in ("500", "503", "drop"):
            if fault == "drop":
                self.close_connection = True  # no response at all: the client sees the connection close
                return
            status = int(fault)
            message = "Internal server error" if status == 500 else "Service temporarily unavailable"
            self.send_json(status, error_body(status, message), rate_headers(*limiter.peek()))
            return
        if fault == "latency":
            time.sleep(portal.faults.latency_seconds())
        allowed, minute, week = limiter.acquire()
        headers = rate_headers(minute, week)
        if not allowed:
            self.send_json(429, error_body(429, "exceeded limit on API requests"), headers)
            return
        if handler is None:
            portal.count_call(f"{method} {path}" if method != "GET" else "GET (unknown)")
            self.send_json(404 if method == "GET" else 405, error_body(404 if method == "GET" else 405,
                                                                     f"No such endpoint: {method} {path}"), headers)
            return
        result: Optional[Result] = None
        try:
            if fault in ("400", "404"):  # answered like the API's own: the request counts, nothing changes
                raise ApiError(int(fault), "invalid request" if fault == "400" else INVALID_PARAMETERS)
            with portal.lock:
                result = handler(portal.api, Params(query, body), args)
                payload = json.dumps(result.body, separators=(",", ":")).encode()
            status = 200
        except ApiError as exc:
            status, payload = exc.status, json.dumps(error_body(exc.status, exc.message)).encode()
        portal.count_call(template or path)
        if fault == "lost":  # handled (a write is applied), then the connection drops before the reply
            self.close_connection = True
            return
        if result is not None and result.page is not None:
            headers["LU-Current-Page"] = str(result.page)
            headers["LU-Records-Per-Page"] = str(portal.config.page_size)
            headers["LU-Has-Next-Page"] = "true" if result.has_next else "false"
        if fault == "truncated" and status == 200:
            # a complete HTTP message whose JSON is cut short
            payload = payload[:portal.faults.truncate_at(len(payload))]
        self.send(status, payload, headers)

    def control(self, method: str, path: str, query: dict[str, list[str]], body: Any = None) -> None:
        """Control endpoints for a portal in another process: no auth, no rate limit."""
        portal = self.server.portal
        p = Params(query, body)
        try:
            if path == "/churn" and method == "POST":
                days = float(p.str("days") or 1.0)
                share = float(p.str("share") or 0.01)
                self.send_json(200, portal.churn(days=days, share=share))
            elif path == "/advance" and method == "POST":
                portal.advance(days=float(p.str("days") or 1.0))
                self.send_json(200, {"now": portal.now().strftime("%Y-%m-%dT%H:%M:%SZ")})
            elif path == "/truth" and method == "GET":
                self.send_json(200, portal.ground_truth())
            elif path == "/calls" and method == "GET":
                self.send_json(200, dict(portal.calls))
            elif path == "/calls" and method in ("POST", "DELETE"):
                portal.reset_calls()
                self.send_json(200, {})
            elif path == "/faults" and method == "POST":
                kinds = p.str("kinds")
                portal.set_faults(fault_rate=float(p.str("rate") or 0.0),
                                  fault_kinds=tuple(kinds.split(",")) if kinds else None)
                self.send_json(200, {"rate": portal.faults.rate, "kinds": list(portal.faults.kinds)})
            elif path == "/rate-limits" and method == "POST":
                def opt(name: str) -> Optional[int]:
                    raw = p.str(name)
                    return None if raw in (None, "", "none", "None") else int(raw)
                portal.set_rate_limits(rate_per_minute=opt("per_minute"), rate_per_week=opt("per_week"))
                self.send_json(200, {})
            elif path == "/now" and method == "GET":
                self.send_json(200, {"now": portal.now().strftime("%Y-%m-%dT%H:%M:%SZ")})
            elif path == "/clock" and method == "POST":
                portal.set_clock(datetime.fromisoformat((p.str("now") or "").replace("Z", "+00:00")))
                self.send_json(200, {"now": portal.now().strftime("%Y-%m-%dT%H:%M:%SZ")})
            elif path == "/endpoint-faults" and method == "GET":
                self.send_json(200, dict(portal.faults.endpoint_faults))
            elif path == "/endpoint-faults" and method in ("POST", "DELETE"):
                self.send_json(200, self.change_endpoint_faults(method, p))
            else:
                self.send_json(404, error_body(404, f"No such control endpoint: {method} {path}"))
        except ValueError as exc:
            self.send_json(400, error_body(400, str(exc)))

    def change_endpoint_faults(self, method: str, p: Params) -> dict[str, str]:
        """POST ?endpoint=GET%20/badges&kind=500 sets one (kind=none clears it); a JSON body {route: kind}
        replaces them all; DELETE, or POST ?clear=true, clears them all."""
        faults = self.server.portal.faults
        if method == "DELETE" or p.bool("clear"):
            wanted: dict[str, str] = {}
        elif isinstance(p.body, dict):
            wanted = {str(k): str(v) for k, v in p.body.items()}
        else:
            endpoint = p.str("endpoint")
            if not endpoint:
                raise ValueError("name an endpoint (endpoint=GET /badges&kind=500), send a JSON body, or clear=true")
            wanted = dict(faults.endpoint_faults)
            wanted.pop(route_key(endpoint), None)
            kind = p.str("kind") or "none"
            if kind.lower() not in ("none", "clear", ""):
                wanted[endpoint] = kind
        self.server.portal.set_endpoint_faults(wanted)
        return dict(faults.endpoint_faults)
