"""The mass-retirement guard: a complete listing that would retire most of a portal's people or enrollments stops.

A listing from the wrong portal (another `--out`'s keys, a sync example pointed at the demo's
warehouse), a portal answering a narrower reading than before, or an empty answer would otherwise
retire nearly every current row and call that a success. So a resource whose load would

- retire more than half of the table's current rows, or
- change every one of them (no current row keeps who it is: for users, every id's username or email
  differs, as when the same ids name other people on another portal; sign-ins and profile edits, which
  a busy day can bring to every user, do not count: `user_identity` in pipelines/learnupon/deletions.py),

is stopped before it changes anything, with one line saying why and how to confirm (`how_to_confirm`); the run's
other resources load as usual and the run exits 1. A warehouse with fewer than `MIN_CURRENT_ROWS`
current rows is never guarded (the first load of an empty warehouse included).

Where it applies, each where the pipeline knows what a load would retire:
- `users` (and its custom data, one resource): SCD2 retires at the load itself, so the users resource
  checks its held listing against the warehouse's current users before yielding anything
  (pipelines/learnupon/resources/people.py); the resource fails and nothing of it loads;
- `enrollments`, `learning_path_enrollments`: their rows retire after the load, by listing markers
  and by their owners (a user or course retired), so the retirement step counts what it would
  retire before touching them (pipelines/run/retirement.py); their markers are set aside and
  nothing of theirs is retired. Rows the searches returned are merged, as any failed resource's rows.

Confirming: `lms-warehouse run --allow-mass-retirement`, `LEARNUPON_ALLOW_MASS_RETIREMENT=true`, or
Dagster's `allow_mass_retirement` (one setting of settings_spec.SETTINGS).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..learnupon.errors import LearnUponError
from ..learnupon.tables import ENROLLMENTS, LEARNING_PATH_ENROLLMENTS, USERS

log = logging.getLogger("lms_warehouse.mass_retirement")

# below this many current rows a table is too small for "most of it" to mean a mistake
MIN_CURRENT_ROWS = 10
# the tables whose rows retire after the load (the retirement step guards them); users are guarded at extract
GUARDED_AFTER_LOAD = (ENROLLMENTS, LEARNING_PATH_ENROLLMENTS)
GUARDED_AT_EXTRACT = (USERS,)
# how to confirm, said once where the stop is reported (the CLI's line, Dagster's failure)
CONFIRM = (
    "If the portal really lost them, run again with `--allow-mass-retirement{again}`"
    " (LEARNUPON_ALLOW_MASS_RETIREMENT=true; Dagster: allow_mass_retirement: true in the learnupon resource's"
    " config); otherwise check the portal's address and keys, and that --out is this portal's warehouse."
)


def how_to_confirm(resources: Iterable[str]) -> str:
    """The sentence that says how to let stopped resources' loads go ahead; tables retired after the
    load need their complete listing read again (a reconciliation), since the stopped one was set aside."""
    return CONFIRM.format(again=" --reconcile" if set(resources) & set(GUARDED_AFTER_LOAD) else "")


def stopped_line(stopped: dict[str, str]) -> str:
    """One line for every resource a run's guard stopped (resource -> why): why each, then how to confirm."""
    why = "; ".join(f"{resource} ({reason})" for resource, reason in stopped.items())
    return f"stopped by the mass-retirement guard: {why}. {how_to_confirm(stopped)}"


class MassRetirement(LearnUponError):
    """A load that would retire most of a table's current rows: its resource stops (exit 1)."""


def refusal(table: str, current: int, retiring: int, changed: int = 0) -> str | None:
    """Why a load that retires `retiring` and changes `changed` of `current` current rows is stopped, or None."""
    if current < MIN_CURRENT_ROWS:
        return None
    if retiring * 2 > current:
        what = f"would retire {retiring:,} of the {current:,} current {table} (more than half)"
    elif retiring + changed >= current:
        what = f"would change every one of the {current:,} current {table} ({retiring:,} retired, {changed:,} changed)"
    else:
        return None
    return f"this load {what}, so nothing of it was retired"


@dataclass
class MassRetirementGuard:
    """One portal's run's guard: whether mass retirement is confirmed, and what it stopped (table -> the line why).

    The retirement step weighs every portal's rows (a pending retirement of another portal is not this run's to
    confirm or report: it is kept, and that portal's own run reports it)."""

    allowed: bool = False
    portal: str = ""
    stopped: dict[str, str] = field(default_factory=dict)

    def check(self, table: str, current: int, retiring: int, changed: int = 0, portal: str | None = None) -> bool:
        """True when the load may go ahead; otherwise the reason is kept in `stopped` (this run's portal)."""
        own = portal is None or portal == self.portal
        reason = None if self.allowed and own else refusal(table, current, retiring, changed)
        if reason is None:
            return True
        if own:
            self.stopped[table] = reason
        else:
            log.warning("portal %s: %s: %s; its own run reports it", portal, table, reason)
        return False

    def raise_if_refused(self, table: str, current: int, retiring: int, changed: int = 0) -> None:
        """The extract-time form: the resource fails with the reason (ExtractContext.contained)."""
        if not self.check(table, current, retiring, changed):
            raise MassRetirement(self.stopped[table])
