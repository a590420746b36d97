"""A simulated LearnUpon portal: the REST API over real HTTP on loopback.

    from pipelines.simulator import SimulatedPortal, PortalConfig
    with SimulatedPortal(PortalConfig(users=1000, seed=7)) as portal:
        portal.base_url  # http://127.0.0.1:<port>/api/v1

See docs/simulator.md.
"""

from .config import PortalConfig
from .portal import SimulatedPortal, serve_without_gc_scans
from .quirks import QUIRKS
from .realm import SimulatedRealm

__all__ = ["PortalConfig", "SimulatedPortal", "QUIRKS", "SimulatedRealm", "serve_without_gc_scans"]
