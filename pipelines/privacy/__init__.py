"""Personal data under control (docs/personal-data.md): the keyed pseudonyms of the pseudonymised reporting
schema (pseudonyms.py, dbt_duckdb.py) and the columns a load blocks or hashes (load_columns.py). Each column's
personal-data class is declared in the table registry (pipelines/learnupon/tables.py)."""
