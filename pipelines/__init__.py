"""lms-warehouse pipelines: the LearnUpon dlt source, its API client, and the simulated portal."""
