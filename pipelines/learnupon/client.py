"""HTTP client for the LearnUpon REST API (httpx).

What it does for every call: Basic auth; pacing from the rate-limit headers
(see ratelimit.py); bounded retries with exponential backoff and full jitter on
429, 5xx, timeouts, dropped connections and truncated JSON; clear exceptions
with the API's own message on 400/401/403/404; and a count of calls per
endpoint. Pagination follows the LU-* headers and never assumes a page size.
Writes (`send`) are retried only when they certainly were not applied.
Credentials live only inside httpx's auth object: they are never logged, never
part of a URL, and never in an exception message.
"""

from __future__ import annotations

import email.utils
import functools
import ipaddress
import logging
import os
import random
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, wait as wait_for
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from .errors import (
    CallsStopped,
    ConfigError,
    CredentialsRejected,
    LearnUponAPIError,
    MalformedResponse,
    TransientAPIError,
    WriteOutcomeUnknown,
    api_error,
)
from .ratelimit import RateLimiter
from .records import extract_records, parse_bool
from .settings_spec import default

log = logging.getLogger("lms_warehouse.client")

# Set by the CLI's stop-signal handler: from then on no call starts, in any thread, while the signal's
# exception unwinds the main thread (the calls in flight finish). Cleared when a command starts.
NO_NEW_CALLS = threading.Event()


def _refuse_after_stop() -> None:
    if NO_NEW_CALLS.is_set():
        raise CallsStopped("a stop signal arrived: no new call starts")


TIME_PROBE_PATH = "/timezones"  # a short, static list: the cheapest call that tells the portal's time
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
_NUMERIC_SEGMENT = re.compile(r"/\d+(?=/|$)")


def _network_problem(exc: BaseException) -> str:
    """The fault a failed call counts as: "tls_certificate" when the portal's certificate was refused (the
    operator's message says so, not just "connection"), else "connection"."""
    seen: BaseException | None = exc
    for _ in range(10):  # httpx's error wraps httpcore's, which wraps the ssl module's; bounded, as a chain can loop
        if seen is None:
            break
        if isinstance(seen, ssl.SSLCertVerificationError):
            return "tls_certificate"
        seen = seen.__cause__ or seen.__context__
    return "connection"


def tls_context() -> ssl.SSLContext:
    """httpx's default TLS context (certifi's authorities, or SSL_CERT_FILE / SSL_CERT_DIR), made once per
    process: making one reads the whole CA bundle (about 25 ms), which every client would do again."""
    return _tls_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.lru_cache(maxsize=4)
def _tls_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    return httpx.create_ssl_context(trust_env=True)  # reads the variables the cache is keyed on


def endpoint_template(method: str, path: str) -> str:
    """'GET /exams/12/answers/9' -> 'GET /exams/{id}/answers/{id}': the key calls are counted under."""
    return f"{method} {_NUMERIC_SEGMENT.sub('/{id}', path)}"


def is_loopback(host: str) -> bool:
    """localhost or any loopback address (all of 127.0.0.0/8, ::1)."""
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def portal_name_for(subdomain: str | None, base_url: str | None) -> str:
    """The name the single-portal settings (LEARNUPON_SUBDOMAIN / LEARNUPON_BASE_URL) give their portal:
    the subdomain, else the base URL's host (the simulated portal: 127.0.0.1), lower-case."""
    if subdomain:
        return subdomain.lower()
    return (urlsplit((base_url or "").rstrip("/")).hostname or "").lower()


def base_url_for(subdomain: str | None, base_url: str | None, domain: str = default("domain")) -> str:
    """The API root: https://{subdomain}.{domain}/api/v1 unless an explicit base URL overrides it.

    Plain HTTP is refused except for loopback hosts (the simulated portal, local proxies).
    """
    if base_url:
        url = base_url.rstrip("/")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"LEARNUPON_BASE_URL must be an http(s) URL, got {url!r}")
        if parts.username or parts.password:
            raise ConfigError("LEARNUPON_BASE_URL must not embed credentials; use LEARNUPON_USERNAME/PASSWORD")
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            raise ConfigError(
                f"LEARNUPON_BASE_URL uses plain http for {parts.hostname}: https is required for every"
                " non-loopback host"
            )
        if not parts.path.rstrip("/").endswith("/api/v1"):
            url = url + "/api/v1"
        return url
    if not subdomain:
        raise ConfigError("LEARNUPON_SUBDOMAIN is not set (or set LEARNUPON_BASE_URL)")
    if not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?", subdomain):
        raise ConfigError(f"LEARNUPON_SUBDOMAIN {subdomain!r} is not a valid subdomain (letters, digits, hyphens)")
    return f"https://{subdomain}.{domain}/api/v1"


@dataclass
class EndpointStats:
    calls: int = 0  # HTTP requests sent, retries included: what the rate limit counts
    pages: int = 0
    records: int = 0
    retries: int = 0
    http_429: int = 0
    repeated: int = 0  # records a listing showed on two pages (it shifted while paged), kept once
    unused: int = 0  # pages asked for ahead that turned out to lie past the listing's end (see `paginate`)


@dataclass
class ClientStats:
    endpoints: dict[str, EndpointStats] = field(default_factory=dict)
    faults: dict[str, int] = field(default_factory=dict)
    bytes_received: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _ep(self, endpoint: str) -> EndpointStats:
        ep = self.endpoints.get(endpoint)
        if ep is None:
            ep = self.endpoints[endpoint] = EndpointStats()
        return ep

    def add(self, endpoint: str, **counts: int) -> None:
        with self._lock:
            ep = self._ep(endpoint)
            for name, value in counts.items():
                setattr(ep, name, getattr(ep, name) + value)

    def fault(self, kind: str) -> None:
        with self._lock:
            self.faults[kind] = self.faults.get(kind, 0) + 1

    @property
    def calls(self) -> int:
        return sum(ep.calls for ep in self.endpoints.values())

    @property
    def http_429(self) -> int:
        return sum(ep.http_429 for ep in self.endpoints.values())

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "calls": sum(ep.calls for ep in self.endpoints.values()),
                "http_429": sum(ep.http_429 for ep in self.endpoints.values()),
                "retries": sum(ep.retries for ep in self.endpoints.values()),
                "bytes_received": self.bytes_received,
                "faults": dict(self.faults),
                "endpoints": {k: vars(v).copy() for k, v in sorted(self.endpoints.items())},
            }


@dataclass
class Page:
    records: list[dict[str, Any]]
    number: int
    has_next: bool
    per_page: int | None
    body: Any = None  # the whole parsed response, for data riding along the list


class LearnUponClient:
    """A thread-safe LearnUpon API client: share one per run across resources and workers."""

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        timeout: float = 60.0,
        max_retries: int = 6,
        max_429_retries: int = 20,
        backoff_base: float = default("retry_backoff_ms") / 1000,
        backoff_cap: float = 8.0,
        max_in_flight: int = 4,
        minute_reserve: int = 0,
        weekly_reserve: int = 0,
        max_calls_per_minute: int | None = None,
        transport: httpx.BaseTransport | None = None,
        portal: str = "",
    ) -> None:
        # the configured portal's name (pipelines/config.py), in every row it reads; "": its host
        self.portal = portal or portal_name_for(None, base_url)
        if not username or not password:
            raise ConfigError("LearnUpon API username and password are both required")
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self.max_429_retries = max_429_retries
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.stats = ClientStats()
        # endpoints that exhausted their retries this run: later calls fail at once (see `get`)
        self._broken: dict[str, str] = {}
        # the portal refused the keys (401): no call is made after it (see `_check_keys`)
        self._rejected: CredentialsRejected | None = None
        self.page_size: int | None = None  # LU-Records-Per-Page as the portal last reported it
        self.limiter = RateLimiter(
            max_in_flight=max_in_flight,
            minute_reserve=minute_reserve,
            weekly_reserve=weekly_reserve,
            max_calls_per_minute=max_calls_per_minute,
        )
        self._clock_offset: timedelta | None = None
        self._http = httpx.Client(
            auth=httpx.BasicAuth(username, password),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 15.0)),
            headers={"Accept": "application/json", "User-Agent": "lms-warehouse/0.1"},
            limits=httpx.Limits(max_connections=max_in_flight + 2, max_keepalive_connections=max_in_flight + 2),
            transport=transport,
            follow_redirects=False,
            verify=tls_context(),
        )

    def __repr__(self) -> str:  # never show the auth object
        return f"LearnUponClient(base_url={self.base_url!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> LearnUponClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- time -------------------------------------------------------------
    def server_now(self) -> datetime:
        """The portal's idea of now, from the HTTP Date header of its answers.

        Windows (audit trails, sessions, snapshot dates) are planned on the portal's
        clock. Before any answer has told us that clock, one small call asks for it.
        """
        if self._clock_offset is None:
            self.get(TIME_PROBE_PATH)
        now = datetime.now(timezone.utc)
        return now + self._clock_offset if self._clock_offset is not None else now

    def _note_server_date(self, headers: Mapping[str, str]) -> None:
        value = headers.get("date")
        if not value:
            return
        try:
            server = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return
        if server.tzinfo is None:
            server = server.replace(tzinfo=timezone.utc)
        self._clock_offset = server - datetime.now(timezone.utc)

    # ---- requests -----------------------------------------------------------
    def _backoff(self, attempt: int) -> float:
        return random.uniform(0, min(self.backoff_cap, self.backoff_base * (2**attempt)))

    def _wait_after_429(self, endpoint: str, attempts: int) -> None:
        """Count a 429 and wait (full jitter) before the next try; give up past max_429_retries."""
        self.stats.add(endpoint, http_429=1)
        self.limiter.exhausted()
        if attempts > self.max_429_retries:
            raise TransientAPIError(f"{endpoint}: still rate limited (HTTP 429) after {self.max_429_retries} retries")
        self.stats.add(endpoint, retries=1)
        time.sleep(self._backoff(min(attempts, 6)))

    def _client_error(self, status: int, endpoint: str, message: str) -> LearnUponAPIError:
        error = api_error(status, endpoint, message)
        if isinstance(error, CredentialsRejected) and self._rejected is None:
            self._rejected = error
        return error

    def _start_call(self) -> None:
        """Wait for the rate limiter's go; a call that waited while another met a 401 or a stop signal is not made."""
        _refuse_after_stop()
        self.limiter.acquire()
        if self._rejected is not None or NO_NEW_CALLS.is_set():
            self.limiter.release(None, None)
            self._check_keys()
            _refuse_after_stop()

    def _check_keys(self) -> None:
        """Refused keys stay refused: after the first 401 every call fails at once, without calling."""
        if self._rejected is not None:
            raise CredentialsRejected(self._rejected.status, self._rejected.endpoint, self._rejected.api_message)

    def get(self, path: str, params: Mapping[str, Any] | None = None, *, endpoint: str | None = None) -> httpx.Response:
        """GET one URL with pacing and retries; returns the response with `.json_body` parsed."""
        endpoint = endpoint or endpoint_template("GET", path)
        self._check_keys()
        if endpoint in self._broken:
            # a circuit breaker: an endpoint that failed for good once this run costs no more calls,
            # so a persistent outage costs max_retries + 1 calls a run, not minutes per item
            raise TransientAPIError(f"{endpoint}: not called again this run ({self._broken[endpoint]})")
        url = self.base_url + path
        transient_attempts = 0
        throttled_attempts = 0
        while True:
            self._start_call()
            response: httpx.Response | None = None
            problem: str | None = None
            try:
                response = self._http.get(url, params=params)
                body = response.content  # reads the whole body: a cut-off stream raises here
                # httpx's response and its stream point at each other; with the stream dropped the page
                # (and its parsed records) is freed as soon as it is used, not at the next full GC pass
                response.stream = httpx.ByteStream(b"")
            except httpx.TimeoutException:
                problem = "timeout"
            except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                problem = _network_problem(exc)
            finally:
                remaining_minute = remaining_week = None
                if response is not None:
                    remaining_minute = _int_header(response.headers, "X-LU-Rate-Limit-Remaining-Minute")
                    remaining_week = _int_header(response.headers, "X-LU-Rate-Limit-Remaining-Week")
                self.limiter.release(remaining_minute, remaining_week)
            self.stats.add(endpoint, calls=1)

            if response is not None and problem is None:
                self._note_server_date(response.headers)
                self.stats.bytes_received += len(body)
                status = response.status_code
                if status == 429:
                    throttled_attempts += 1
                    self._wait_after_429(endpoint, throttled_attempts)
                    continue
                if 400 <= status < 500:
                    raise self._client_error(status, endpoint, _api_message(body))
                if status >= 500:
                    problem = f"http_{status}"
                elif status >= 300:
                    raise LearnUponAPIError(status, endpoint, f"unexpected redirect ({status})")
                else:
                    try:
                        response.json_body = orjson.loads(body) if body else None  # type: ignore[attr-defined]
                        return response
                    except orjson.JSONDecodeError:
                        problem = "truncated_json"

            self.stats.fault(problem)
            transient_attempts += 1
            if transient_attempts > self.max_retries:
                reason = f"gave up after {self.max_retries} retries (last problem: {problem})"
                self._broken[endpoint] = reason
                raise TransientAPIError(f"{endpoint}: {reason}")
            self.stats.add(endpoint, retries=1)
            delay = self._backoff(transient_attempts)
            log.debug("retrying %s after %s in %.2fs", endpoint, problem, delay)
            time.sleep(delay)

    def get_json(self, path: str, params: Mapping[str, Any] | None = None, *, endpoint: str | None = None) -> Any:
        return self.get(path, params, endpoint=endpoint).json_body  # type: ignore[attr-defined]

    def send(self, method: str, path: str, payload: Any = None, *, endpoint: str | None = None) -> Any:
        """POST, PUT or DELETE one JSON payload, paced like every call; returns the parsed reply (None if empty).

        A write is never repeated blindly. A 429 (refused, nothing applied) and a connection that never
        opened are retried here. A reply that was lost or cut short, a timeout or a 5xx raise
        WriteOutcomeUnknown: the write may have been applied, so the caller looks before writing again.
        400/401/403/404 raise LearnUponAPIError with the API's message. The payload is never logged.
        """
        endpoint = endpoint or endpoint_template(method, path)
        content = orjson.dumps(payload) if payload is not None else None
        headers = {"Content-Type": "application/json"} if content is not None else None
        throttled_attempts = unsent_attempts = 0
        while True:
            self._start_call()
            response: httpx.Response | None = None
            problem: str | None = None
            try:
                response = self._http.request(method, self.base_url + path, content=content, headers=headers)
                body = response.content
                response.stream = httpx.ByteStream(b"")
            except (httpx.ConnectError, httpx.ConnectTimeout):
                problem = "unsent"
            except httpx.TimeoutException:
                problem = "timeout"
            except (httpx.NetworkError, httpx.RemoteProtocolError):
                problem = "connection"
            finally:
                headers_in = response.headers if response is not None else {}
                self.limiter.release(
                    _int_header(headers_in, "X-LU-Rate-Limit-Remaining-Minute"),
                    _int_header(headers_in, "X-LU-Rate-Limit-Remaining-Week"),
                )
            self.stats.add(endpoint, calls=1)
            if response is not None and problem is None:
                self._note_server_date(response.headers)
                status = response.status_code
                if status == 429:
                    throttled_attempts += 1
                    self._wait_after_429(endpoint, throttled_attempts)
                    continue
                if 400 <= status < 500:
                    raise self._client_error(status, endpoint, _api_message(body))
                if 300 <= status < 400:
                    raise LearnUponAPIError(status, endpoint, f"unexpected redirect ({status})")
                if status >= 500:
                    problem = f"http_{status}"
                else:
                    try:
                        return orjson.loads(body) if body.strip() else None
                    except orjson.JSONDecodeError:
                        problem = "truncated_json"
            self.stats.fault(problem)
            if problem != "unsent":
                raise WriteOutcomeUnknown(f"{endpoint}: no complete reply ({problem}); the write may have been applied")
            unsent_attempts += 1
            if unsent_attempts > self.max_retries:
                raise TransientAPIError(f"{endpoint}: could not connect after {self.max_retries} retries")
            self.stats.add(endpoint, retries=1)
            time.sleep(self._backoff(unsent_attempts))

    def paginate(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        record_keys: tuple[str, ...] = (),
        endpoint: str | None = None,
        max_pages: int = 1_000_000,
        unique_key: str | tuple[str, ...] | None = "id",
        ahead: int = 1,
        expected_records: int = 0,
    ) -> Iterator[Page]:
        """Yield every page of a list endpoint, following LU-Has-Next-Page.

        Header values are strings; "true"/"1"/"yes" in any case count as true. A
        response without the header falls back to page fullness against
        LU-Records-Per-Page, and without that to "stop at the first empty page".

        Pages are offsets into a live listing: a record added or removed ahead of the
        current page while the listing is paged shifts the rest by one, so a record can
        come on two pages. Records are kept the first time their `unique_key` is seen in
        this listing (records without it all pass) and the repeats are counted.

        `ahead` > 1 keeps up to that many pages of the listing in flight (`page=N` addresses any
        page): on a long listing, which otherwise is a chain of one call at a time, the calls
        overlap. Pages are still read and yielded in order, and a page is used only if the one
        before it said there is a next, so the result is the same as paging one by one. The price
        is calls for pages past the end, made before the last page said it was the last: at most
        `ahead - 1` per listing and never more than half its pages (the number of pages
        asked for beyond those known to exist grows with the pages read); they are counted as
        `unused` in the endpoint's stats, and their answers, errors included, are ignored.

        `expected_records`: how many records the caller was told the listing holds (a course's
        `num_enrolled` for a search without `date_from`). The pages they fill, at the page size the
        portal reports (LU-Records-Per-Page), are asked for at once, `ahead` at a time, rather than
        as the pages read prove they exist. A count that was too high costs at most `ahead - 1`
        calls past the end (unused, as above); one too low only means the rest come as without it.
        """
        endpoint = endpoint or endpoint_template("GET", path)
        base = dict(params or {})
        seen: set[str] | None = set() if unique_key else None
        responses = PagesAhead(lambda n: self.get(path, {**base, "page": n}, endpoint=endpoint), ahead, max_pages)
        responses.expect(expected_records, self.page_size)
        finished = False
        try:
            yield from self._pages(responses, endpoint, record_keys, seen, unique_key, max_pages)
            finished = True
        finally:
            # a listing read to its end waits for its calls past the end, so they count where it is
            # accounted for (each resource's calls); one stopped by an error or a kill does not wait
            unused = responses.close(wait=finished)
            if unused:
                self.stats.add(endpoint, unused=unused)

    def _pages(self, responses: PagesAhead, endpoint: str, record_keys: tuple[str, ...], seen: set[str] | None,
               unique_key: Any, max_pages: int) -> Iterator[Page]:
        number = 1
        while number <= max_pages:
            response = responses.take(number)
            records = extract_records(response.json_body, record_keys, endpoint)  # type: ignore[attr-defined]
            per_page = _int_header(response.headers, "LU-Records-Per-Page")
            if per_page:
                self.page_size = per_page
                if number == 1:
                    responses.page_size_known(per_page)  # this listing's own page size: the expected pages again
            has_next = parse_bool(response.headers.get("LU-Has-Next-Page"))
            if has_next is None:
                has_next = bool(records) and (per_page is None or len(records) >= per_page)
            if not records:
                has_next = False  # an empty page never leads anywhere: guards against a stuck header
            served = len(records)
            if seen is not None:
                records = first_sightings(records, unique_key, seen)  # type: ignore[arg-type]
                if served and not records:
                    has_next = False  # a page of nothing but repeats: an endpoint that ignores `page`
            self.stats.add(endpoint, pages=1, records=len(records), repeated=served - len(records))
            if has_next:
                responses.needed(number + 1)  # asked for now, while the caller works on this page
            yield Page(records=records, number=number, has_next=has_next, per_page=per_page, body=response.json_body)  # type: ignore[attr-defined]
            if not has_next:
                return
            number += 1
        raise MalformedResponse(f"{endpoint}: more than {max_pages} pages; refusing to loop forever")


class PagesAhead:
    """Pages of one listing fetched on threads of their own, up to `ahead` at a time, taken in order.

    Page n is known to exist once page n - 1 said there is a next (`needed`); up to
    `ahead` pages are in flight, but only as many beyond the known ones as half the pages
    known so far (at most `ahead - 1`), so a short listing costs few calls past its end.
    Pages the caller expects (`expect`: a record count it was told) are asked for as if known;
    whatever the count, no more than `ahead - 1` pages past those known to exist are asked for.
    With `ahead` 1 every page is fetched by the caller itself, on demand, as plain paging does.
    """

    def __init__(self, fetch: Callable[[int], Any], ahead: int, last: int) -> None:
        self.fetch, self.ahead, self.last = fetch, max(1, ahead), last
        self.known = 1  # pages known to exist
        self.expected_records = 0
        self.expected = 1  # pages the expected records fill
        self.issued = 0  # pages asked for (1..issued)
        self.taken = 0  # pages handed to the caller (1..taken)
        self.futures: dict[int, Future] = {}

    def expect(self, records: int, page_size: int | None) -> None:
        """The listing is said to hold `records`: the pages they fill at `page_size` are asked for as if known."""
        self.expected_records = max(0, records)
        self.page_size_known(page_size)

    def page_size_known(self, page_size: int | None) -> None:
        # a count without a page size tells nothing: one page, as without it
        self.expected = max(1, -(-self.expected_records // page_size)) if page_size else 1
        self._issue()

    def needed(self, number: int) -> None:
        self.known = max(self.known, number)
        self._issue()

    def _issue(self) -> None:
        if self.ahead == 1:
            return
        # pages past those known: none while the expected pages cover them (the count is the guess),
        # else half the pages known so far (at most ahead - 1)
        beyond = 0 if self.known <= self.expected else min(self.ahead - 1, self.known // 2)
        # never more than ahead - 1 pages past those known to exist: the most a listing can cost past its end
        wanted = min(max(self.known + beyond, self.expected), self.known + self.ahead - 1)
        while self.issued < min(wanted, self.last) and self.issued - self.taken < self.ahead:
            self.issued += 1
            future: Future = Future()
            self.futures[self.issued] = future
            threading.Thread(target=self._run, args=(self.issued, future), name=f"page-{self.issued}", daemon=True).start()

    def _run(self, number: int, future: Future) -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(self.fetch(number))
        except BaseException as exc:  # handed to the reader, if it needs this page
            future.set_exception(exc)

    def take(self, number: int) -> Any:
        self.taken = number
        if self.ahead == 1:
            self.issued = number
            return self.fetch(number)
        self._issue()
        return self.futures.pop(number).result()

    def close(self, wait: bool) -> int:
        """Stop asking; the number of pages asked for and not used. `wait`: let them answer (as many
        calls as pages asked for, whatever the timing), else cancel those not yet started."""
        if wait:
            wait_for(self.futures.values())
            unused = len(self.futures)
        else:  # a cancelled page makes no call; one running or done made its call
            unused = sum(1 for future in self.futures.values() if not future.cancel())
        self.futures.clear()
        return unused


def first_sightings(records: list[Any], key: str | tuple[str, ...], seen: set[str]) -> list[Any]:
    """The records whose `key` (a field, or fields together) is not in `seen` yet (recording them).

    Records without the key (its first field) all pass.
    """
    fresh = []
    fields = (key,) if isinstance(key, str) else key
    for record in records:
        value = record.get(fields[0]) if isinstance(record, dict) else None
        if value is not None and len(fields) > 1:
            value = "\x1f".join(str(record.get(f)) for f in fields)
        if value is not None:
            value = str(value)
            if value in seen:
                continue
            seen.add(value)
        fresh.append(record)
    return fresh


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        try:
            return int(float(value))
        except ValueError:
            return None


def _api_message(body: bytes) -> str:
    """The API's own error message ({"response_type":"ERROR","message":...}), trimmed."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        text = body.decode("utf-8", "replace").strip()
        return (text[:300] or "no message") if "<html" not in text.lower() else "non-JSON error page"
    if isinstance(parsed, dict):
        for key in ("message", "error", "errors", "response_message"):
            if parsed.get(key):
                return str(parsed[key])[:300]
    return str(parsed)[:300]
