"""dlt destination factories whose capabilities are worked out once per run, and connection URLs without SQLAlchemy.

dlt asks a destination for its capabilities some forty times in a small run (each extract, normalize,
load and dataset client) and each time resolves the destination's configuration from every config
provider again. Our factories live for one run (runner.py makes one per pipeline), so capabilities asked
without a configuration or naming of the caller's are resolved once, and each caller gets a copy of its
own. To dlt the factory is still the one it extends: the same destination type in its state, config
sections and traces.

dlt reads and prints connection URLs (a PostgreSQL URL; a DuckDB path, tried as a URL first; every load
step's summary names its destination) with SQLAlchemy's `URL` when SQLAlchemy is installed, and with URL
shims of its own when it is not. Dagster brings SQLAlchemy, and importing it cost each command about 0.25 s
of its start. `use_dlt_url_shims` gives dlt its shims (the same parse, fields and rendering, the password
hidden) before it first needs a URL.
"""

from __future__ import annotations

import copy
import sys
import types
from functools import cache
from typing import Any

from dlt.common.destination.reference import DestinationReference


class SettledCapabilities:
    """Mixin for a dlt destination factory (put it first among the bases)."""

    _settled: Any = None

    def capabilities(self, config: Any = None, naming: Any = None) -> Any:
        if config is not None or naming is not None:
            return super().capabilities(config, naming)  # type: ignore[misc]
        if self._settled is None:
            self._settled = super().capabilities()  # type: ignore[misc]
        return copy.copy(self._settled)  # a caller may set attributes on its copy

    @property
    def destination_type(self) -> str:
        extended = next(c for c in type(self).__mro__ if c.__module__.startswith("dlt.destinations."))
        return DestinationReference.normalize_type(f"{extended.__module__}.{extended.__qualname__}")


@cache
def settled(factory: type) -> type:
    """`factory` (dlt.destinations.duckdb, say) with SettledCapabilities."""
    return type(factory.__name__, (SettledCapabilities, factory), {"__doc__": f"dlt's {factory.__name__}, its capabilities settled once"})


DLT_URLS = "dlt.common.libs.sql_alchemy_compat"  # where dlt takes its URL class from


def use_dlt_url_shims() -> None:
    """Have dlt parse and print connection URLs with its own shims rather than SQLAlchemy (see the module's
    docstring). A process where dlt already took SQLAlchemy's keeps it."""
    if DLT_URLS in sys.modules:
        return
    from dlt.common.libs import sql_alchemy_shims

    urls = types.ModuleType(DLT_URLS, "dlt's URL class: its own shims (pipelines/destinations/dlt_factory.py)")
    urls.URL, urls.make_url = sql_alchemy_shims.URL, sql_alchemy_shims.make_url  # type: ignore[attr-defined]
    sys.modules[DLT_URLS] = urls
