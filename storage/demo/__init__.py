"""Deterministic demo data: places, fleets, devices and two years of parking and rental sessions.

``seed`` writes a realistic, reproducible history: the same ``seed`` and ``sessions`` give the
same rows, ids included. Every device's sessions form a timeline of non-overlapping slots and
only a device's latest session may be booked or active, so the data satisfies every check
constraint and partial unique index of the schema.

Rows are generated as tuples in chunks and written with one COPY per table per chunk on
PostgreSQL and one ``executemany`` per table per chunk on SQLite, in exactly the formats
SQLAlchemy's own types use (naive UTC timestamps; on SQLite 32-digit hex UUIDs and
``YYYY-MM-DD HH:MM:SS.ffffff`` text), so the models read the rows back as if the ORM had
written them. The whole load is one transaction: it lands completely or not at all.

The package: ``vocabulary`` (cities, names, prices, weights), ``clock`` (the fixed present),
``catalog`` (locations, fleets, tariffs, devices, users), ``timelines`` (sessions and their
events), ``rows`` (column layouts), ``writers`` (COPY and ``executemany``), ``seeding``.
"""

from storage.demo.clock import NOW
from storage.demo.seeding import AlreadySeeded, SeedSummary, count_sessions, seed

__all__ = ["NOW", "AlreadySeeded", "SeedSummary", "count_sessions", "seed"]
