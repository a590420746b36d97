"""python -m pipelines.simulator [users] [port]: serve a portal until Ctrl-C."""

from __future__ import annotations

import sys

from . import PortalConfig, SimulatedPortal, serve_without_gc_scans


def main(argv: list[str]) -> None:
    users = int(argv[0]) if argv else 1000
    port = int(argv[1]) if len(argv) > 1 else 0
    portal = SimulatedPortal(PortalConfig(users=users, port=port))
    serve_without_gc_scans()
    portal.start()
    cfg = portal.config
    print(f"simulated LearnUpon portal at {portal.base_url} (user {cfg.username}); Ctrl-C to stop", flush=True)
    portal.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
