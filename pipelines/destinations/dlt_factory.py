"""dlt destination factories whose capabilities are worked out once per run.

dlt asks a destination for its capabilities some forty times in a small run (each extract, normalize,
load and dataset client) and each time resolves the destination's configuration from every config
provider again. Our factories live for one run (runner.py makes one per pipeline), so capabilities asked
without a configuration or naming of the caller's are resolved once, and each caller gets a copy of its
own. To dlt the factory is still the one it extends: the same destination type in its state, config
sections and traces.
"""

from __future__ import annotations

import copy
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
