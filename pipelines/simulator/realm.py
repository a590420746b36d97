"""A simulated realm: a top-level portal and its sub-portals, each a SimulatedPortal of its own.

Each portal has its own server (port), keys, data and rate limit, as LearnUpon's portals have
their own subdomain, keys and limits ("per portal, rather than per realm"). Ids overlap across
portals: every portal numbers its entities from the same bases. The top-level portal lists the
sub-portals on GET /portals (domains/portals.py); a sub-portal answers that call 403.

    with SimulatedRealm(PortalConfig(users=200), {"emea": PortalConfig(seed=2, username="emea-key")}) as realm:
        realm.top.base_url, realm.subs["emea"].base_url
        realm.churn(days=1, share=0.02)  # every portal churns, and one sub-portal buys licences
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any, Optional

from .config import PortalConfig
from .domains.portals import SUB_PORTAL, PortalEntry
from .portal import SimulatedPortal
from .timefmt import DAY

FIRST_PORTAL_ID = 12870  # the top-level portal's; sub-portals follow (the reference's samples use 12345, 12871)
DEFAULT_COLOURS = ("#419BBD", "#256188")  # the reference's defaults for header and navigation


class SimulatedRealm:
    def __init__(self, top: Optional[PortalConfig] = None, subs: Optional[Mapping[str, PortalConfig]] = None,
                 top_subdomain: str = "realm-hq", licenses: Optional[Mapping[str, int]] = None) -> None:
        """`subs`: sub-portal subdomain -> its config (give each its own keys and seed); `licenses`: subdomain ->
        licences purchased (default: about 10% more than its users, every other sub-portal 10% fewer)."""
        self.top = SimulatedPortal(top or PortalConfig())
        self.subs: dict[str, SimulatedPortal] = {name: SimulatedPortal(cfg) for name, cfg in (subs or {}).items()}
        self.top_subdomain = top_subdomain
        self._rekeys = 0
        start = int(self.top.now_ts())
        entries = [self._entry(0, top_subdomain, self.top, start, licenses, top_level=True)]
        for i, (name, portal) in enumerate(self.subs.items(), 1):
            entries.append(self._entry(i, name, portal, start, licenses, top_level=False))
            portal.state.realm_role = SUB_PORTAL
        self.top.state.realm_portals = entries
        self._round = 0

    def _entry(self, i: int, subdomain: str, portal: SimulatedPortal, start: int,
               licenses: Optional[Mapping[str, int]], top_level: bool) -> PortalEntry:
        users = portal.config.users
        default = (users * 11 // 10) if i % 2 == 0 else max(1, users * 9 // 10)
        created = start - (720 - 45 * i) * DAY
        custom = i % 3 == 2  # a sub-portal with its own branding
        return PortalEntry(
            id=FIRST_PORTAL_ID + i, subdomain=subdomain, title=subdomain.replace("-", " ").title() + " Academy",
            created_at=created, updated_at=created + 30 * DAY, allow_course_authoring=i % 3 != 2,
            licenses_purchased=(licenses or {}).get(subdomain, default),
            logo_image_url=None if i % 4 == 3 else f"https://cdn.example.com/portals/{subdomain}/logo.png",
            header_color="#1F6F43" if custom else DEFAULT_COLOURS[0],
            navigation_color="#0B3D2E" if custom else DEFAULT_COLOURS[1],
            top_level=top_level, state=portal.state, lock=portal.lock, rekey=lambda p=portal: self._rekey(p),
        )

    def _rekey(self, portal: SimulatedPortal) -> tuple[str, str]:
        """GET /portals/{id}/generate_keys: the portal's new key pair; the old one is refused from now on."""
        self._rekeys += 1
        rng = random.Random(f"{portal.config.seed}:keys:{self._rekeys}")
        portal.keys = (f"{rng.getrandbits(64):016x}", f"{rng.getrandbits(96):024x}")
        return portal.keys

    # --- the realm's portals -------------------------------------------------------------
    @property
    def portals(self) -> dict[str, SimulatedPortal]:
        """Every portal of the realm by subdomain, the top-level one first."""
        return {self.top_subdomain: self.top, **self.subs}

    def entry(self, subdomain: str) -> PortalEntry:
        return next(e for e in self.top.state.realm_portals if e.subdomain == subdomain)

    def set_licenses(self, subdomain: str, purchased: int) -> None:
        """A portal's licences purchased change (PUT /portals/{id} in the API); its updated_at moves."""
        with self.top.lock:
            entry = self.entry(subdomain)
            entry.licenses_purchased = purchased
            entry.updated_at = max(entry.updated_at + 1, int(self.top.now_ts()))
            self.top.api.invalidate()

    def churn(self, days: float = 1.0, share: float = 0.01) -> dict[str, dict[str, int]]:
        """Every portal churns (`SimulatedPortal.churn`); then one sub-portal in turn buys 10% more licences."""
        summary = {name: portal.churn(days=days, share=share) for name, portal in self.portals.items()}
        self._round += 1
        if self.subs:
            name = list(self.subs)[(self._round - 1) % len(self.subs)]
            before = self.entry(name).licenses_purchased
            self.set_licenses(name, before + max(5, before // 10))
            summary[self.top_subdomain]["licenses_bought"] = self.entry(name).licenses_purchased - before
        return summary

    def generate_keys_calls(self) -> int:
        """Calls the top-level portal answered on GET /portals/{id}/generate_keys (a client must make none)."""
        return self.top.calls["GET /portals/{id}/generate_keys"]

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> "SimulatedRealm":
        for portal in self.portals.values():
            portal.start()
        return self

    def stop(self) -> None:
        for portal in self.portals.values():
            portal.stop()

    def __enter__(self) -> "SimulatedRealm":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
