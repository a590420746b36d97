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

from .. import schema
from ..arrow import to_arrow
from ..context import ExtractContext, _safe_int
from ..fanout import read_ahead
from ..records import extract_records, field_definitions
from ..settings import CUSTOM_USER_FIELDS_KEYS, CUSTOM_USER_FIELDS_PATH, USERS_KEYS, USERS_PATH, USERS_VERSION_ID
from .common import SCD2, child_table, json_text, row_hash, listing_complete
from .gamification import note_award_keys


def users_resource(context: ExtractContext) -> DltResource:
    @dlt.resource(name="users", write_disposition=SCD2, primary_key="id")
    @context.contained("users", hold=True)
    def users() -> Iterator[Any]:
        # two stages, each on a thread of its own: the listing pages ahead while the previous page is
        # hashed and converted, so the chain of calls (each page asked for once the last says there is
        # another) is not held up by the work done on each page; dlt gets finished Arrow tables
        yield from read_ahead(tables())

    def tables() -> Iterator[Any]:
        client = context.client
        definitions: list[dict[str, Any]] = []
        saw_custom_data = False
        award_keys: dict[int, list] = {}
        pages = client.paginate(USERS_PATH, {"version_id": USERS_VERSION_ID}, record_keys=USERS_KEYS)
        for page in read_ahead(pages):
            if not definitions:
                definitions = field_definitions(page.body)
            labels = {str(d.get("label", "")).strip().lower(): _safe_int(d.get("id")) for d in definitions}
            user_rows, custom_rows = [], []
            for record in page.records:
                user = {k: v for k, v in record.items() if k not in schema.USER_CUSTOM_DATA_KEYS}
                user["row_hash"] = row_hash(user)
                user_rows.append(user)
                for row in custom_values(record, labels):
                    saw_custom_data = True
                    row["row_hash"] = row_hash(row)
                    custom_rows.append(row)
            yield to_arrow(user_rows, schema.USERS, table="users", key=["id"], issues=context.issues)
            if custom_rows:
                table = to_arrow(
                    custom_rows, schema.USER_CUSTOM_DATA, table="user_custom_data", key=["user_id"], issues=context.issues
                )
                yield child_table(table, "user_custom_data")
            note_award_keys(award_keys, page.records)
            context.progress.update("users", pages=1, rows=len(page.records))
        if not definitions and saw_custom_data:
            # the listing did not carry the definitions: one call fetches them
            body = client.get_json(CUSTOM_USER_FIELDS_PATH)
            definitions = extract_records(body, CUSTOM_USER_FIELDS_KEYS, "GET /users/customuserdata")
        if definitions:
            table = to_arrow(
                definitions, schema.CUSTOM_USER_FIELDS, table="custom_user_fields", key=["id"], issues=context.issues
            )
            yield child_table(table, "custom_user_fields")
            yield listing_complete(context, "custom_user_fields")
        context.put("user_award_keys", award_keys)  # user_awards reads who has badges from here

    return users


def custom_values(record: dict[str, Any], labels: dict[str, int | None]) -> Iterator[dict[str, Any]]:
    """Custom user data as rows, from either documented shape.

    customDataFieldValues: [{"definition_id": 231, "value": "Support"}, ...]
    CustomData: {"department": "Support", ...} keyed by field label
    """
    user_id = record.get("id")
    values = record.get("customDataFieldValues")
    if isinstance(values, list):
        for item in values:
            if isinstance(item, dict):
                yield {
                    "user_id": user_id,
                    "definition_id": item.get("definition_id"),
                    "label": None,
                    "value": json_text(item.get("value")),
                }
    for key in ("CustomData", "custom_data", "customData"):
        data = record.get(key)
        if isinstance(data, dict):
            for label, value in data.items():
                yield {
                    "user_id": user_id,
                    "definition_id": labels.get(str(label).strip().lower()),
                    "label": label,
                    "value": json_text(value),
                }
