"""A portal's initial data, deterministic from (seed, clock, users, enrollments per user).

Each entity kind draws from its own seeded stream (rng.stream), so adding a
kind later does not change the data of the others; the order below is the
order in which kinds depend on each other. All timestamps are at or before `now`.
"""

from __future__ import annotations

from .domains import audit, catalog, enrollments, exams, gamification, groups, live_learning, users
from .model import State
from .rng import stream


def sizes(n_users: int) -> dict[str, int]:
    """Entity counts that scale from the number of users (documented in docs/simulator.md)."""
    return {
        "families": max(12, min(600, 12 + n_users // 200)),
        "groups": max(5, min(300, 4 + n_users // 100)),
    }


def generate(
    seed: int, n_users: int, enrollments_per_user: float, now: int, gamification_on: bool = True, live_learning_on: bool = True
) -> State:
    st = State(seed, gamification_on)
    size = sizes(n_users)
    users.generate(st, stream(seed, "users"), n_users, now)
    catalog.generate_courses(st, stream(seed, "courses"), size["families"], now)
    groups.generate(st, stream(seed, "groups"), size["groups"], now)
    enrollments.generate(st, stream(seed, "enrollments"), enrollments_per_user, now)
    staff = stream(seed, "staff")  # group managers, then course instructors, from one stream
    groups.generate_managers(st, staff, now)
    catalog.generate_instructors(st, staff, now)
    exams.generate_exams(st, stream(seed, "exams"))
    exams.generate_markcompletes(st, stream(seed, "markcompletes"))
    if live_learning_on:
        live_learning.generate(st, stream(seed, "live"), now)
    paths = stream(seed, "paths")  # learning paths, then their enrollments, from one stream
    catalog.generate_learning_paths(st, paths, now)
    enrollments.generate_lp_enrollments(st, paths, now)
    gamification.generate(st, stream(seed, "gamification"), now)
    gamification.generate_certifications(st, stream(seed, "certs"))
    audit.generate(st, stream(seed, "audit"), now)
    return st
