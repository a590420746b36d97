"""The benchmark peer: dlt's generic rest_api source, configured by hand as its documentation suggests.

What a dlt user would write for the same three endpoints: Basic auth, a custom
paginator (LearnUpon's LU-Has-Next-Page header is a boolean, which none of
dlt's built-in paginators reads), the record wrapper as data_selector, merge
on id, and enrollments searched per course through a parent resource
reference ({resources.courses.id}). Everything else is left at its default.
"""

from __future__ import annotations

from typing import Any

import dlt
from dlt.sources.helpers.rest_client.paginators import BasePaginator
from dlt.sources.rest_api import rest_api_source

from ..learnupon.settings import COURSES_KEYS, COURSES_PATH, ENROLLMENTS_KEYS, ENROLLMENTS_SEARCH_PATH, USERS_KEYS, USERS_PATH
from ..learnupon.tables import COURSES, ENROLLMENTS, USERS


class LUHeaderPaginator(BasePaginator):
    """?page=N, following the LU-Has-Next-Page response header."""

    def __init__(self, page_param: str = "page", initial_page: int = 1) -> None:
        super().__init__()
        self.page_param = page_param
        self.initial_page = initial_page
        self.page = initial_page

    def init_request(self, request: Any) -> None:
        self.page = self.initial_page
        self.update_request(request)

    def update_state(self, response: Any, data: list[Any] | None = None) -> None:
        has_next = str(response.headers.get("LU-Has-Next-Page", "")).strip().lower() == "true"
        if has_next and data:
            self.page += 1
        else:
            self._has_next_page = False

    def update_request(self, request: Any) -> None:
        if request.params is None:
            request.params = {}
        request.params[self.page_param] = self.page


def peer_source(base_url: str, username: str, password: str) -> Any:
    return rest_api_source(
        {
            "client": {
                "base_url": base_url.rstrip("/") + "/",
                "auth": {"type": "http_basic", "username": username, "password": password},
                "paginator": LUHeaderPaginator(),
            },
            "resource_defaults": {"primary_key": "id", "write_disposition": "merge"},
            # the same three endpoints, readings and wrapper keys as ours (the registry and settings.py)
            "resources": [
                {
                    "name": USERS,
                    "endpoint": {"path": USERS_PATH.lstrip("/"), "params": {"version_id": "1.2"}, "data_selector": USERS_KEYS[0]},
                },
                {
                    "name": COURSES,
                    "endpoint": {
                        "path": COURSES_PATH.lstrip("/"),
                        "params": {
                            "name": "",
                            "include_all_versions": "true",
                            "include_draft": "true",
                            "include_licensed_courses": "true",
                        },
                        "data_selector": COURSES_KEYS[0],
                    },
                },
                {
                    "name": ENROLLMENTS,
                    "endpoint": {
                        "path": ENROLLMENTS_SEARCH_PATH.lstrip("/"),
                        "params": {"course_id": f"{{resources.{COURSES}.id}}"},
                        "data_selector": ENROLLMENTS_KEYS[0],
                    },
                },
            ],
        },
        name="learnupon_peer",
    )


def peer_pipeline(out_dir: Any) -> dlt.Pipeline:
    from pathlib import Path

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return dlt.pipeline(
        pipeline_name="bench_peer",
        destination=dlt.destinations.duckdb(credentials=str((out / "peer.duckdb").resolve())),
        dataset_name="learnupon",
        pipelines_dir=str((out / ".dlt").resolve()),
    )
