"""The simulated API by domain: each module owns its data generation, churn, records, handlers and ground truth.

A domain exposes `ROUTES`, a tuple of (method, path template, handler);
templates name their path arguments in braces (`/users/{id}`), which match
digits. Adding a domain is a module with its ROUTES (and `truth`) and one
entry in DOMAINS; the write side (user_writes, membership_writes, invites)
is added that way.
"""

from __future__ import annotations

from . import (audit, catalog, enrollments, exams, gamification, groups, invites, live_learning, membership_writes,
               portals, user_writes, users)

# in routing order: within a domain, literal paths come before {id} ones
DOMAINS = (users, catalog, groups, enrollments, exams, live_learning, gamification, audit,
           user_writes, membership_writes, invites, portals)
