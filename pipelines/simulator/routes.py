"""Route table: which domain handler answers a method and path below /api/v1."""

from __future__ import annotations

import re
from typing import Callable, NamedTuple, Optional

from .api import ApiContext, Params, Result
from .domains import DOMAINS

Handler = Callable[[ApiContext, Params, dict[str, str]], Result]


class Route(NamedTuple):
    method: str
    pattern: re.Pattern[str]
    template: str  # "GET /users/{id}": how calls and endpoint faults name it
    handler: Handler


def compile_route(method: str, path: str, handler: Handler) -> Route:
    pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>\\d+)", re.escape(path))
    return Route(method, re.compile(f"^{pattern}$"), f"{method} {path}", handler)


ROUTES: tuple[Route, ...] = tuple(compile_route(m, path, h) for domain in DOMAINS for m, path, h in domain.ROUTES)


def resolve(method: str, path: str) -> tuple[Optional[str], Optional[Handler], dict[str, str]]:
    """(template, handler, path args) for a path below /api/v1, or (None, None, {})."""
    for route in ROUTES:
        if route.method != method:
            continue
        match = route.pattern.match(path)
        if match:
            return route.template, route.handler, match.groupdict()
    return None, None, {}
