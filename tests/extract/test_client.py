"""The API client on answers the simulated portal does not give: odd pagination headers, odd errors.

These use httpx's MockTransport as the server (our own code runs for real); everything a
real portal does is tested against the simulated portal instead.
"""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from pipelines.learnupon.client import LearnUponClient, base_url_for
from pipelines.learnupon.errors import ConfigError, LearnUponAPIError, WeeklyBudgetReserved

SECRET = "pw-do-not-print-4471"


def serve(handler) -> LearnUponClient:
    return LearnUponClient(
        "https://acme.learnupon.com/api/v1", "key", SECRET, transport=httpx.MockTransport(handler), backoff_base=0.001
    )


def page_of(n: int, start: int = 0) -> list[dict]:
    return [{"id": start + i} for i in range(n)]


@pytest.mark.parametrize("truthy", ["true", "True", "1", "yes"])
def test_has_next_page_header_is_a_string_in_any_spelling(truthy: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        more = truthy if page < 3 else "false"
        return httpx.Response(200, json={"users": page_of(2, page * 10)}, headers={"LU-Has-Next-Page": more})

    with serve(handler) as client:
        ids = [r["id"] for p in client.paginate("/users", record_keys=("users",)) for r in p.records]
    assert ids == [10, 11, 20, 21, 30, 31]


def test_without_the_header_a_short_page_ends_the_list() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        size = 3 if page < 3 else 1
        return httpx.Response(200, json=page_of(size, page * 10), headers={"LU-Records-Per-Page": "3"})

    with serve(handler) as client:
        pages = list(client.paginate("/groups"))
    assert [len(p.records) for p in pages] == [3, 3, 1]


def test_an_empty_page_ends_the_list_even_if_the_header_says_more() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.params["page"])
        body = page_of(2) if request.url.params["page"] == "1" else []
        return httpx.Response(200, json={"courses": body}, headers={"LU-Has-Next-Page": "true"})

    with serve(handler) as client:
        list(client.paginate("/courses", record_keys=("courses",)))
    assert calls == ["1", "2"]


def long_listing(pages: int, past_end_status: int = 200, fail_page: int | None = None):
    """A users listing of `pages` pages of 3; pages past the end answer `past_end_status`; every page asked is noted."""
    asked: list[int] = []
    lock = threading.Lock()

    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        with lock:
            asked.append(page)
        if page == fail_page:
            return httpx.Response(400, json={"message": "bad page"})
        if page > pages:
            if past_end_status != 200:
                return httpx.Response(past_end_status, json={"message": "no such page"})
            return httpx.Response(200, json={"users": []}, headers={"LU-Has-Next-Page": "false"})
        return httpx.Response(200, json={"users": page_of(3, page * 10)}, headers={"LU-Has-Next-Page": str(page < pages).lower()})

    return handler, asked


@pytest.mark.parametrize("pages", [1, 2, 3, 7, 20])
def test_pages_asked_ahead_are_the_pages_read_one_by_one_at_a_few_calls_past_the_end(pages: int) -> None:
    one_by_one, asked_one = long_listing(pages)
    with serve(one_by_one) as client:
        expected = [(p.number, [r["id"] for r in p.records]) for p in client.paginate("/users", record_keys=("users",))]
    handler, asked = long_listing(pages)
    with serve(handler) as client:
        got = [(p.number, [r["id"] for r in p.records]) for p in client.paginate("/users", record_keys=("users",), ahead=4)]
        stats = client.stats.endpoints["GET /users"]
    assert got == expected and len(expected) == pages and asked_one == list(range(1, pages + 1))
    assert sorted(asked) == list(range(1, len(asked) + 1))  # each page once, none skipped
    past_the_end = len(asked) - pages
    assert past_the_end == stats.unused <= min(3, pages // 2)  # never more than half the pages
    assert stats.calls == len(asked) and stats.pages == pages


def test_a_page_asked_ahead_past_the_end_that_fails_is_ignored() -> None:
    handler, asked = long_listing(10, past_end_status=404)
    with serve(handler) as client:
        pages = list(client.paginate("/users", record_keys=("users",), ahead=4))
        unused = client.stats.endpoints["GET /users"].unused
    assert [p.number for p in pages] == list(range(1, 11))
    assert max(asked) > 10 and unused == len(asked) - 10


def test_a_failing_page_inside_a_listing_read_ahead_fails_the_listing() -> None:
    handler, _ = long_listing(10, fail_page=5)
    with serve(handler) as client, pytest.raises(LearnUponAPIError, match="bad page"):
        list(client.paginate("/users", record_keys=("users",), ahead=4))


def test_pages_read_ahead_are_in_flight_together() -> None:
    both = threading.Barrier(2, timeout=60)  # pages 3 and 4 answer only once both were asked for

    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        if page in (3, 4):
            try:
                both.wait()
            except threading.BrokenBarrierError:
                return httpx.Response(400, json={"message": f"page {page} was asked for alone"})
        return httpx.Response(200, json={"users": page_of(3, page * 10)}, headers={"LU-Has-Next-Page": str(page < 6).lower()})

    with serve(handler) as client:
        assert [p.number for p in client.paginate("/users", record_keys=("users",), ahead=4)] == [1, 2, 3, 4, 5, 6]


def counted_listing(pages: int, per_page: int = 3, together: int = 0):
    """A listing of `pages` full pages of `per_page` (LU-Records-Per-Page stated); the calls in flight at
    once are counted (`peak`); pages 1..`together` answer only once all of them were asked for."""
    state = {"now": 0, "peak": 0, "asked": []}
    lock = threading.Lock()
    barrier = threading.Barrier(together, timeout=60) if together else None

    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
            state["asked"].append(page)
        try:
            if barrier is not None and page <= together:
                try:
                    barrier.wait()
                except threading.BrokenBarrierError:
                    return httpx.Response(400, json={"message": f"page {page} was asked for alone"})
            records = page_of(per_page, page * 100) if page <= pages else []
            headers = {"LU-Has-Next-Page": str(page < pages).lower(), "LU-Records-Per-Page": str(per_page)}
            return httpx.Response(200, json={"enrollments": records}, headers=headers)
        finally:
            with lock:
                state["now"] -= 1

    return handler, state


def test_the_pages_of_an_expected_count_are_asked_together_within_the_calls_in_flight() -> None:
    handler, state = counted_listing(pages=9, together=3)
    client = LearnUponClient("https://acme.learnupon.com/api/v1", "key", SECRET, transport=httpx.MockTransport(handler),
                             max_in_flight=3)
    with client:
        client.page_size = 3  # as the listings before this one reported it
        pages = list(client.paginate("/enrollments/search", {"course_id": 1}, record_keys=("enrollments",),
                                     ahead=8, expected_records=27))
        stats = client.stats.endpoints["GET /enrollments/search"]
    # pages 1-3 were in flight together (else the barrier breaks and the listing fails), never more than allowed
    assert [p.number for p in pages] == list(range(1, 10)) and state["peak"] == 3
    assert sorted(state["asked"]) == list(range(1, 10)) and stats.unused == 0 and stats.calls == 9


@pytest.mark.parametrize("expected_records, pages", [(60, 4), (6, 7), (0, 3)])
def test_a_wrong_count_gives_the_same_pages_at_a_few_calls_past_the_end(expected_records: int, pages: int) -> None:
    handler, state = counted_listing(pages=pages)
    with serve(handler) as client:
        client.page_size = 3
        got = [p.number for p in client.paginate("/enrollments/search", record_keys=("enrollments",), ahead=4,
                                                 expected_records=expected_records)]
        unused = client.stats.endpoints["GET /enrollments/search"].unused
    assert got == list(range(1, pages + 1))
    assert sorted(state["asked"]) == list(range(1, len(state["asked"]) + 1)) and len(state["asked"]) == pages + unused
    assert unused <= 3  # a count too high: at most ahead - 1 pages past the end; too low: paging as without it


def test_an_expected_count_is_paged_at_the_listings_own_page_size() -> None:
    handler, state = counted_listing(pages=2, per_page=5)
    with serve(handler) as client:
        client.page_size = 1  # another listing's page size: 10 records would be 10 pages
        got = [p.number for p in client.paginate("/enrollments/search", record_keys=("enrollments",), ahead=2,
                                                 expected_records=10)]
        unused = client.stats.endpoints["GET /enrollments/search"].unused
    # pages 1 and 2 asked at once (2 in flight); once page 1 states 5 a page, no page past the second is asked
    assert got == [1, 2] and unused == 0 and sorted(state["asked"]) == [1, 2]


def test_a_400_carries_the_apis_own_message_and_no_credentials() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"response_type": "ERROR", "response_code": 400, "message": "You must provide a course_id"})

    with serve(handler) as client, pytest.raises(LearnUponAPIError) as error:
        client.get_json("/enrollments/search")
    assert "You must provide a course_id" in str(error.value)
    assert error.value.status == 400
    assert SECRET not in str(error.value) + repr(client)


def test_429_then_success_is_retried_and_counted() -> None:
    answers = iter([429, 429, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(answers)
        body = {"response_type": "ERROR", "response_code": 429, "message": "exceeded limit on API requests"} if status == 429 else {"groups": []}
        return httpx.Response(status, json=body, headers={"X-LU-Rate-Limit-Remaining-Minute": "0" if status == 429 else "50"})

    with serve(handler) as client:
        # a 429 spends the minute: the limiter waits for the next one (on a fake clock here)
        now = [600.0]
        client.limiter.clock = lambda: now[0]
        client.limiter.sleep = lambda seconds: now.__setitem__(0, now[0] + seconds)
        client.get_json("/groups")
        stats = client.stats.as_dict()
    assert stats["http_429"] == 2 and stats["calls"] == 3
    assert client.limiter.snapshot.throttle_waits >= 2 and now[0] >= 720


def test_the_weekly_reserve_is_never_spent() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"groups": []}, headers={"X-LU-Rate-Limit-Remaining-Week": "100"})

    client = LearnUponClient(
        "https://acme.learnupon.com/api/v1", "key", SECRET, transport=httpx.MockTransport(handler), weekly_reserve=100
    )
    with client:
        client.get_json("/groups")  # the first call learns the budget
        with pytest.raises(WeeklyBudgetReserved, match="reserve of 100"):
            client.get_json("/groups")
    assert client.stats.calls == 1


def test_truncated_json_is_retried() -> None:
    bodies = iter([b'{"groups": [{"id": 1', json.dumps({"groups": [{"id": 1}]}).encode()])

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=next(bodies), headers={"Content-Type": "application/json"})

    with serve(handler) as client:
        assert client.get_json("/groups") == {"groups": [{"id": 1}]}
        assert client.stats.faults == {"truncated_json": 1}


def test_base_urls() -> None:
    assert base_url_for("acme", None) == "https://acme.learnupon.com/api/v1"
    assert base_url_for("acme", None, "learnupon.eu") == "https://acme.learnupon.eu/api/v1"
    assert base_url_for(None, "http://127.0.0.1:8008") == "http://127.0.0.1:8008/api/v1"
    assert base_url_for(None, "https://proxy.example.com/lu/api/v1/") == "https://proxy.example.com/lu/api/v1"
    for bad in ("http://proxy.example.com", "https://user:pw@proxy.example.com", "ftp://x"):
        with pytest.raises(ConfigError):
            base_url_for(None, bad)
