"""Keep LearnUpon users in step with HR: a roster-to-portal user sync, planned in SQL, applied through
the rate-limited client, dry run first (docs/user-sync.md).

  mapping.py   the TOML mapping (roster columns -> LearnUpon fields and groups) and the policies
  roster.py    the roster in (CSV, Parquet or a query), loaded by dlt into dataset `hr`
  plan.py      sync.sync_plan, the dbt model sql/models/sync/sync_plan.sql (tag sync), and its CSV
  journal.py   sync.sync_runs and the write-ahead journal sync.sync_actions
  apply.py     the writes, with look-before-retry for lost replies
  run.py       one sync end to end (plan or apply)
  cli.py       `lms-warehouse sync plan|apply`
"""
