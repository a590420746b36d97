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
from email.utils import formatdate
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Optional
from urllib.parse import parse_qs, urlsplit

from .endpoints import ApiError, Params, Result, resolve

if TYPE_CHECKING:
    from .portal import SimulatedPortal

API_PREFIX = "/api/v1"
CONTROL_PREFIX = "/_sim"
REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
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
        self.request_body = b""
        self.dispatch("GET")

    def do_POST(self) -> None:
        self.do_POST_like("POST")

    def do_PUT(self) -> None:
        self.do_POST_like("PUT")

    def do_DELETE(self) -> None:
        self.do_POST_like("DELETE")

    def do_POST_like(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.request_body = self.rfile.read(length) if length else b""
        self.dispatch(method)

    # --- request flow -------------------------------------------------------------
    def dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/") or "/"
        query = parse_qs(parts.query, keep_blank_values=True)
        if path.startswith(CONTROL_PREFIX):
            self.control(method, path[len(CONTROL_PREFIX):], query)
        elif path == API_PREFIX or path.startswith(API_PREFIX + "/"):
            self.api(method, path[len(API_PREFIX):], query)
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
        cfg = self.server.portal.config
        return hmac.compare_digest(user, cfg.username) & hmac.compare_digest(password, cfg.password)

    def api(self, method: str, path: str, query: dict[str, list[str]]) -> None:
        portal = self.server.portal
        limiter = portal.limiter

        def rate_headers(minute: int, week: int) -> dict[str, str]:
            return {"X-LU-Rate-Limit-Remaining-Minute": str(minute), "X-LU-Rate-Limit-Remaining-Week": str(week)}

        if not self.authorised():
            self.send_json(401, error_body(401, "Unauthorized: invalid API credentials"), rate_headers(*limiter.peek()))
            return
        if portal.config.latency_ms:
            time.sleep(portal.config.latency_ms / 1000)
        fault = portal.faults.draw()
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
        template, handler, args = resolve(method, path)
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
        try:
            payload = json.loads(self.request_body) if self.request_body.strip() else None
        except ValueError:
            self.send_json(400, error_body(400, "The request body is not valid JSON"), headers)
            return
        try:
            with portal.lock:
                result: Result = handler(portal.api, Params(query, payload), args)
                body = json.dumps(result.body, separators=(",", ":")).encode()
            status = 200
        except ApiError as exc:
            status, body, result = exc.status, json.dumps(error_body(exc.status, exc.message)).encode(), None
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
            body = body[:portal.faults.truncate_at(len(body))]
        self.send(status, body, headers)

    def control(self, method: str, path: str, query: dict[str, list[str]]) -> None:
        """Control endpoints for a portal in another process: no auth, no rate limit."""
        portal = self.server.portal
        p = Params(query)
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
            else:
                self.send_json(404, error_body(404, f"No such control endpoint: {method} {path}"))
        except ValueError as exc:
            self.send_json(400, error_body(400, str(exc)))
