"""Resource groups of the learnupon source, one module per part of the API.

Each module exposes functions `(context) -> DltResource`; the source in
pipelines/learnupon/__init__.py assembles them.
"""
