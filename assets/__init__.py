"""Dagster definitions of lms-warehouse: load them with `dagster dev -m assets.definitions`.

Small modules, assembled by definitions.py:
  extract.py    one asset per dlt resource (group "source"), partitioned by portal, run through
                pipelines.run.runner.run_extract
  models.py     the dbt project through dagster-dbt: one asset per model (groups staging, intermediate,
                reporting), its dbt tests as asset checks, built by pipelines.models
  checks.py     asset checks: raw keys, freshness, audit-trail gaps, reconciliation, API budget
  observations.py  loads made outside Dagster, reported on the source assets
  schedules.py  jobs, schedules (cron strings in schedules.toml, overridable by env vars), sensors
  resources.py  where the warehouse is and how to reach a portal (credentials from dlt's configuration only)
  portals.py    one partition per configured portal, and the portal of a run
  settings.py   schedules.toml and environment variables, read once per process
"""
