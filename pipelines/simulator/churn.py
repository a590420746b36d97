"""Realistic change between two moments of the simulated clock: one churn round across every domain.

Every change is stamped with a time in (t0, t1]; nothing is stamped before t0,
so a client that copied the portal at t0 sees every later change as new. The
round draws from one seeded stream in a fixed order, so the same portal churned
the same way changes the same way.
"""

from __future__ import annotations

import random

from .domains import audit, catalog, enrollments, exams, gamification, groups, live_learning, users
from .model import State
from .rng import Stamp


def churn(st: State, round_no: int, t0: int, t1: int, share: float, audit_unenrolls: bool = True) -> dict[str, int]:
    rng = random.Random(f"{st.seed}:churn:{round_no}")
    stamp = Stamp(rng, t0, t1)
    counts: dict[str, int] = {}
    n_enr = len(st.enrollments)
    who = users.staff(st) or list(st.users.values())[:1]
    counts.update(users.churn(st, rng, stamp, share, round_no, who))
    counts.update(catalog.churn_versions(st, rng, stamp, share))
    counts.update(enrollments.churn(st, rng, stamp, share, n_enr, who, audit_unenrolls))
    # the staff of the changed portal initiate what follows
    who = users.staff(st) or list(st.users.values())[:1]
    counts.update(live_learning.churn(st, stamp, t1))
    counts.update(exams.churn_markcompletes(st, rng, stamp, share, who))
    counts.update(enrollments.churn_lp(st, rng, stamp, share))
    counts.update(gamification.churn(st, rng, stamp, share))
    counts.update(groups.churn(st, rng, stamp, share, who))
    catalog.churn_archive_events(st, rng, stamp, share, who)
    # later additions draw after everything above, so the changes above stay as they were
    counts.update(enrollments.churn_lp_unenrollments(st, rng, stamp, share))
    counts.update(catalog.churn_archive_paths(st, rng, stamp, share, who))
    counts.update(live_learning.churn_late(st, round_no, t0, t1, share))
    counts.update(audit.finish_round(st, t0))
    enrollments.refresh_clock_dependent(st, t1)
    return counts
