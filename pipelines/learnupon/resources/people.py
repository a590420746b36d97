"""Users, their custom data and the custom field definitions.

The API has no change filter for users, so every run lists them all. users and
user_custom_data are SCD2 tables: a row that changes is closed and a new one
opened; a user missing from a complete listing is retired (its rows stay, and
`_dlt_valid_to` says when the deletion was noticed).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dlt
from dlt.sources import DltResource

from .. import tables
from ..context import ExtractContext
from ..custom_data import ATTRIBUTES, carries_labels, choice_list, custom_data_rows, field_ids
from ..deletions import user_identity
from ..fanout import read_ahead
from ..records import extract_records, field_definitions
from ..settings import CUSTOM_USER_FIELDS_KEYS, CUSTOM_USER_FIELDS_PATH, USERS_KEYS, USERS_PATH, USERS_VERSION_ID
from .common import child_table, json_text, row_hash, listing_complete
from .gamification import note_award_keys


def users_resource(context: ExtractContext) -> DltResource:
    @dlt.resource(**tables.hints(tables.USERS))
    @context.contained(tables.USERS, hold=True)
    def users() -> Iterator[Any]:
        # two stages, each on a thread of its own: the listing pages ahead while the previous page is
        # hashed and converted, so the chain of calls (each page asked for once the last says there is
        # another) is not held up by the work done on each page; dlt gets finished Arrow tables
        listed: dict[int, str] = {}
        for item in read_ahead(arrow_tables()):
            if tables.item_table(item, tables.USERS) == tables.USERS:  # who each listed user is
                columns = [item.column(name).to_pylist() for name in ("id", "username", "email")]
                listed.update((user_id, user_identity(username, email)) for user_id, username, email in zip(*columns))
            yield item
        # the whole listing was read and is held (SCD2 retires at the load): stop here if it would retire most users
        guard_users(context, listed)

    def arrow_tables() -> Iterator[Any]:
        client = context.client
        definitions: list[dict[str, Any]] = []
        definitions_read = False  # GET /users/customuserdata called (at most once a run)
        saw_custom_data = False
        award_keys: dict[int, list] = {}
        # the listing has no filter and is long: its pages are asked for `workers` at a time (client.paginate)
        pages = client.paginate(USERS_PATH, {"version_id": USERS_VERSION_ID}, record_keys=USERS_KEYS,
                                ahead=context.options.workers)
        for page in read_ahead(pages):
            if not definitions:
                definitions = field_definitions(page.body)
            if not definitions and not definitions_read and any(carries_labels(r) for r in page.records):
                # CustomData is keyed by label: which field each label names comes from the definitions
                definitions, definitions_read = read_definitions(client), True
            ids = field_ids(definitions)
            user_rows, custom_rows = [], []
            for record in page.records:
                user = {k: v for k, v in record.items() if k not in ATTRIBUTES}
                user["row_hash"] = row_hash(user)
                user_rows.append(user)
                rows, disagreements = custom_data_rows(record, ids)
                for row in rows:
                    saw_custom_data = True
                    row["row_hash"] = row_hash(row)
                    custom_rows.append(row)
                for d in disagreements:
                    context.issues.add(
                        "user_custom_data", f"{d.user_id},{d.definition_id}", "value", json_text(d.by_label),
                        f"CustomData[{d.label!r}] disagrees with customDataFieldValues (definition_id {d.definition_id}):"
                        " the definition id's value is kept",
                    )
            yield tables.to_table(tables.USERS, user_rows, context.issues)
            if custom_rows:
                yield child_table(tables.to_table("user_custom_data", custom_rows, context.issues), "user_custom_data")
            note_award_keys(award_keys, page.records)
            context.progress.update(tables.USERS, pages=1, rows=len(page.records))
        whole = bool(definitions) and all("predefined_values" in d for d in definitions)
        if not whole and not definitions_read and (definitions or saw_custom_data):
            # the listing carried no definitions, or carried them without their choices (as in the reference's
            # sample): GET /users/customuserdata states them whole, predefined_values included; one call
            definitions = read_definitions(client) or definitions
        if definitions:
            definitions = [{**d, "predefined_values": choice_list(d["predefined_values"])} if "predefined_values" in d else d
                           for d in definitions]
            yield child_table(tables.to_table("custom_user_fields", definitions, context.issues), "custom_user_fields")
            yield listing_complete(context, "custom_user_fields")
        context.run_cache.user_award_keys.set(award_keys)  # user_awards reads who has badges from here

    return users


def guard_users(context: ExtractContext, listed: dict[int, str]) -> None:
    """MassRetirement if loading this listing (user id -> `user_identity`) would retire more than half of the
    warehouse's current users or make every one of them someone else (pipelines/run/mass_retirement.py)."""
    from ...run.mass_retirement import MassRetirementGuard

    current = context.facts.current_user_identities
    retiring = sum(1 for user_id in current if user_id not in listed)
    changed = sum(1 for user_id, who in current.items() if user_id in listed and listed[user_id] != who)
    guard = context.retirement_guard or MassRetirementGuard(allowed=context.options.allow_mass_retirement)
    guard.raise_if_refused(tables.USERS, len(current), retiring, changed)


def read_definitions(client: Any) -> list[dict[str, Any]]:
    """The custom user field definitions from GET /users/customuserdata (one call)."""
    body = client.get_json(CUSTOM_USER_FIELDS_PATH)
    return extract_records(body, CUSTOM_USER_FIELDS_KEYS, "GET /users/customuserdata")
