"""The workbook's SQLite schema and its forward migrations.

The schema version lives in ``PRAGMA user_version``; ``PRAGMA application_id`` marks the
file as ours, so a foreign SQLite file is never mistaken for a workbook. Each migration
runs in one ``BEGIN IMMEDIATE`` transaction together with the version bump, so a
migration killed half-way leaves the file fully old, never half new.

To change the schema: append a :class:`Migration`; never edit a released one.
``tests/reliability/test_upgrade_killed.py`` then kills the upgrade to it before each of its
statements, from every older version, and checks the file is left fully old or fully new.
"""

from __future__ import annotations

from dataclasses import dataclass

from heron_research.records import models as m
from heron_research.records.models import INTERVENTION, PEER_REVIEW, PRACTITIONER_REACTION

__all__ = ["APPLICATION_ID", "MIGRATIONS", "SCHEMA_VERSION", "Migration", "side_before_v3"]

#: The kinds only the practitioner wrote when migration 3 gave every stored row its writing
#: side (the rest were the client's). Frozen with the migration: never change it.
_PRACTITIONER_ONLY_AT_V3 = (PEER_REVIEW, PRACTITIONER_REACTION, INTERVENTION)
#: Every kind there was at migration 3 (frozen with it, too).
_KINDS_AT_V3 = frozenset(
    (
        m.PERSON,
        m.CONSENT,
        m.EMOTION_EPISODE,
        m.PROJECTION_HYPOTHESIS,
        m.INQUIRY_CYCLE,
        m.FOCUS_DECISION,
        m.AGENDA_ITEM,
        *_PRACTITIONER_ONLY_AT_V3,
        m.CHECK_IN,
        m.CO_COUNSELLING_SESSION,
    )
)
_AT_V3 = ", ".join(f"'{kind}'" for kind in _PRACTITIONER_ONLY_AT_V3)

#: "HRWB" (heron-research workbook) as a 32-bit integer, stored in the SQLite header.
APPLICATION_ID = 0x48525742


@dataclass(frozen=True)
class Migration:
    version: int  # the user_version after this migration
    description: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "records with full revision history",
        (
            """CREATE TABLE meta (
                key TEXT PRIMARY KEY,
                value TEXT NOT NULL
            ) STRICT""",
            # the current version of every record; data is the validated record as JSON
            """CREATE TABLE records (
                id TEXT PRIMARY KEY,
                kind TEXT NOT NULL,
                sharing TEXT NOT NULL CHECK (sharing IN ('private', 'practitioner', 'research')),
                occurred_on TEXT,
                occurred_at TEXT,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                deleted_at TEXT,
                revision INTEGER NOT NULL CHECK (revision >= 1),
                data TEXT NOT NULL CHECK (json_valid(data))
            ) STRICT""",
            "CREATE INDEX records_by_kind_and_day ON records (kind, occurred_on)",
            # every version ever saved, the current one included; never updated or deleted
            """CREATE TABLE revisions (
                record_id TEXT NOT NULL,
                revision INTEGER NOT NULL,
                kind TEXT NOT NULL,
                sharing TEXT NOT NULL,
                saved_at TEXT NOT NULL,
                deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
                data TEXT NOT NULL,
                PRIMARY KEY (record_id, revision)
            ) STRICT""",
        ),
    ),
    Migration(
        2,
        "event log: when the workbook was exported, imported or reported on (no content)",
        (
            """CREATE TABLE events (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                at TEXT NOT NULL,
                action TEXT NOT NULL,
                detail TEXT NOT NULL DEFAULT ''
            ) STRICT""",
        ),
    ),
    Migration(
        3,
        "authorship: every record and revision knows the side that wrote it; a practice "
        "workbook's received counts of what the client withheld",
        (
            # existing rows: the client's, except kinds only the practitioner writes
            "ALTER TABLE records ADD COLUMN side TEXT NOT NULL DEFAULT 'client'"
            " CHECK (side IN ('client', 'practitioner'))",
            "ALTER TABLE revisions ADD COLUMN side TEXT NOT NULL DEFAULT 'client'"
            " CHECK (side IN ('client', 'practitioner'))",
            f"UPDATE records SET side = 'practitioner' WHERE kind IN ({_AT_V3})",
            f"UPDATE revisions SET side = 'practitioner' WHERE kind IN ({_AT_V3})",
            # a practice workbook: how many of the client's entries of each kind and day the
            # last bundle left out (counts only; an undated kind's day is NULL)
            """CREATE TABLE withheld (
                kind TEXT NOT NULL,
                occurred_on TEXT,
                count INTEGER NOT NULL CHECK (count >= 1),
                UNIQUE (kind, occurred_on)
            ) STRICT""",
        ),
    ),
)

SCHEMA_VERSION = MIGRATIONS[-1].version


def side_before_v3(kind: str) -> str:
    """The writing side migration 3 gives a stored row of ``kind`` (and an import gives an
    entry of an export made before sides were stored).

    A kind added since (no older version wrote it) is given its one writing side, if it has
    only one; the import then checks the entry against the kind's writers as for any other."""
    if kind in _PRACTITIONER_ONLY_AT_V3:
        return "practitioner"
    if kind not in _KINDS_AT_V3:
        from heron_research.records.base import record_types

        cls = record_types().get(kind)
        if cls is not None and len(cls.facts.writers) == 1:
            return str(next(iter(cls.facts.writers)).value)
    return "client"


assert [m.version for m in MIGRATIONS] == list(range(1, SCHEMA_VERSION + 1))
