"""Resolution: link every accepted source record into persons, precisely and explained.

The pipeline (pipeline.py; each step a module): load records -> deterministic
identifier pairs, guarded -> Splink scores what identifiers leave open -> constrained
clustering -> stable ids with merge/split events -> golden records with provenance ->
one transaction into the store. See docs/resolution.md.

Nothing is imported here: reading a person (queries.py) must not load Splink, SciPy and
DuckDB, which the pipeline needs and `muster person show` paid 0.8 s for at each start.
"""
