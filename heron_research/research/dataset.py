"""The research dataset on disk: Parquet tables, a Frictionless codebook and a manifest.

:class:`DatasetWriter` takes each input's result as it arrives (in any order) and appends its
serialised Arrow record batches to one partition file per table, remembering only where each
participant's rows are, so memory does not grow with the number of workbooks.
:meth:`DatasetWriter.finish` then

1. drops second copies of a workbook (the newer copy is kept);
2. finds participants' own words used by fewer than k participants (they become "other");
3. writes each table as Parquet, participants in pseudonym order, reading one participant's
   batch at a time from the partition file, in row groups of a fixed size;
4. writes ``datapackage.json`` (the codebook) and ``manifest.json``;
5. moves the finished folder into place in one step.

Same inputs and key give byte-identical files, whatever order results arrived in and however
many workers made them: rows are ordered by pseudonym, Parquet options are fixed (zstd level
3, no pandas or Arrow schema metadata, fixed row groups; ``created_by`` names the pyarrow
version, recorded in the manifest), and JSON is written with sorted keys. Everything is
owner-only: files 0600, folders 0700.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from heron_research._version import __version__
from heron_research.errors import ResearchError
from heron_research.principles import current_principles
from heron_research.research.anonymise import FreeText, generalise, rare_terms
from heron_research.research.arrow import arrow_schema, kept_columns
from heron_research.research.errors import DatasetExistsError
from heron_research.research.gate import EXCLUSION_REASONS
from heron_research.research.sources import ERROR_REASONS
from heron_research.research.tables import TABLES, Column, Table, not_exported

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from heron_research.research.keys import StudyKey
    from heron_research.research.task import SourceResult

__all__ = [
    "DATASET_FORMAT",
    "ROW_GROUP_ROWS",
    "Dataset",
    "DatasetWriter",
    "arrow_schema",
    "codebook",
    "open_dataset",
    "prepare_output",
]

DATASET_FORMAT = "heron-research-dataset"
DATASET_FORMAT_VERSION = 1
#: rows per Parquet row group (the last group of a table holds the rest)
ROW_GROUP_ROWS = 65_536
MANIFEST = "manifest.json"
CODEBOOK = "datapackage.json"

_TABLES = {t.name: t for t in TABLES}

FREE_TEXT_NOTES: dict[str, str] = {
    "none": "Free text was left out: no free-text column is in the dataset.",
    "scrubbed": (
        "Free text is included after scrubbing: names from each participant's people register "
        "(and their obvious variants) were replaced by the relationship in brackets, and e-mail "
        "addresses, URLs, IP addresses, file paths, long codes, dates, years, phone numbers, "
        "postcodes and long numbers by type tokens. Scrubbing cannot find every identifier "
        "(a name not in the register, a rare event, a place, a way of writing): scrubbed "
        "text carries a residual risk of re-identification and must be handled as such."
    ),
}


# --- files -----------------------------------------------------------------------------------


def _private_file(path: Path) -> BinaryIO:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    return os.fdopen(fd, "wb")


def _write_json(path: Path, data: Any) -> None:
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, indent=2) + "\n"
    with _private_file(path) as fh:
        fh.write(text.encode("utf-8"))


def _sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def prepare_output(out: Path) -> Path:
    """Check ``out`` can take a dataset and make the private folder it is built in."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DatasetExistsError(
            f"{out} already exists and is not an empty folder; choose another --out or "
            "remove it first"
        )
    out.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = out.parent / f".{out.name}.partial-{secrets.token_hex(4)}"
    partial.mkdir(mode=0o700)
    os.chmod(partial, 0o700)
    (partial / "_parts").mkdir(mode=0o700)
    return partial


# --- the writer ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Included:
    result_index: int  # in the writer's entries
    source_index: int  # SourceResult.index
    participant_id: str
    last_saved: str
    input_ref: str
    source_format: str | None
    batches: dict[str, tuple[int, int]]  # table -> (offset, length) in its partition file
    terms: dict[str, frozenset[str]]


@dataclass(slots=True)
class _Entry:
    input: str
    status: str
    code: str
    source_format: str | None
    participant_id: str | None = None
    older_bundle: bool = False

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"input": self.input, "status": self.status, "reason": self.code}
        if self.source_format:
            out["format"] = self.source_format
        if self.older_bundle:
            out["older_bundle_format"] = True
        if self.participant_id:
            out["participant_id"] = self.participant_id
        return out


@dataclass
class DatasetWriter:
    """Builds a dataset in a private folder beside ``out`` and moves it to ``out`` at the end.

    Use as a context manager: on an error, or if :meth:`finish` is not reached, the partial
    folder is removed and nothing is left at ``out``.
    """

    out: Path
    key: StudyKey
    free_text: FreeText = "none"
    k: int = 5
    #: files in the input folders skipped by name (counted in the manifest, never named)
    skipped_by_name: int = 0
    _partial: Path = field(init=False)
    _writers: dict[str, BinaryIO] = field(init=False, default_factory=dict)
    _included: list[_Included] = field(init=False, default_factory=list)
    _entries: list[_Entry] = field(init=False, default_factory=list)
    #: SourceResult.index of every input found to be a second copy (set by finish)
    duplicates: list[int] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError(f"k must be at least 1 (got {self.k})")
        self.out = Path(self.out)
        self._partial = prepare_output(self.out)

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()

    @property
    def _parts(self) -> Path:
        return self._partial / "_parts"

    def abort(self) -> None:
        """Remove the partial folder (a no-op after :meth:`finish`)."""
        self._close_writers()
        if self._partial.exists():
            shutil.rmtree(self._partial, ignore_errors=True)

    def _close_writers(self) -> None:
        for sink in self._writers.values():
            sink.close()
        self._writers.clear()

    def add(self, result: SourceResult) -> None:
        """Take one input's result: append its record batches to the partition files."""
        self._entries.append(
            _Entry(
                result.input_ref,
                result.status,
                result.code,
                result.source_format,
                result.participant_id,
                result.older_bundle,
            )
        )
        if result.status != "included":
            return
        assert result.participant_id is not None
        if result.free_text != self.free_text:
            raise ResearchError(
                f"a result made with free text {result.free_text!r} cannot join a dataset with "
                f"free text {self.free_text!r}; every task must use the writer's settings"
            )
        positions: dict[str, tuple[int, int]] = {}
        for name, message in result.tables.items():
            sink = self._writers.get(name)
            if sink is None:
                sink = self._writers[name] = _private_file(self._parts / f"{name}.bin")
            positions[name] = (sink.tell(), len(message))
            sink.write(message)
        self._included.append(
            _Included(
                len(self._entries) - 1,
                result.index,
                result.participant_id,
                result.last_saved,
                result.input_ref,
                result.source_format,
                positions,
                result.terms,
            )
        )

    # --- finishing ---------------------------------------------------------------------------

    def _deduplicate(self) -> list[_Included]:
        """One copy per participant: the newest save wins (then a workbook over an export)."""
        copies: dict[str, list[_Included]] = {}
        for item in self._included:
            copies.setdefault(item.participant_id, []).append(item)
        chosen: list[_Included] = []
        for pid in sorted(copies):
            items = copies[pid]
            newest = max(i.last_saved for i in items)
            winner = min(  # a workbook before its export; then a fixed order
                (i for i in items if i.last_saved == newest),
                key=lambda i: (i.source_format != "workbook", i.input_ref, i.result_index),
            )
            chosen.append(winner)
            for item in items:
                if item is not winner:
                    self.duplicates.append(item.source_index)
                    entry = self._entries[item.result_index]
                    entry.status, entry.code, entry.participant_id = "excluded", "duplicate", None
        return chosen

    def finish(self, on_file: Callable[[int, int], None] | None = None) -> dict[str, Any]:
        """Write the Parquet tables, the codebook and the manifest; publish; return the
        manifest. ``on_file(done, total)`` is called as each file is written."""
        total = len(TABLES) + 2
        self._close_writers()
        participants = self._deduplicate()
        kept, replaced = rare_terms((p.terms for p in participants), self.k)
        tables: dict[str, dict[str, Any]] = {}
        for spec in TABLES:
            schema = arrow_schema(spec, self.free_text)
            order = [p.batches.get(spec.name) for p in participants]
            path = self._partial / f"{spec.name}.parquet"
            rows = self._write_parquet(spec, schema, order, kept)
            tables[spec.name] = {"path": path.name, "rows": rows, "sha256": _sha256(path)}
            if on_file is not None:
                on_file(len(tables), total)
        shutil.rmtree(self._parts)
        extra_terms = {key: tuple(words) for key, words in kept.items()}
        package = codebook(self.free_text, extra_terms, tables)
        _write_json(self._partial / CODEBOOK, package)
        manifest = self._manifest(tables, kept, replaced)
        _write_json(self._partial / MANIFEST, manifest)
        if on_file is not None:
            on_file(total, total)
        self._check_no_key()
        os.replace(self._partial, self.out)
        return manifest

    def _write_parquet(
        self,
        spec: Table,
        schema: pa.Schema,
        order: list[tuple[int, int] | None],
        kept: dict[str, dict[str, int]],
    ) -> int:
        import pyarrow as pa
        import pyarrow.parquet as pq

        transforms = self._transforms(spec, kept)
        text = [c.name for c in spec.columns if c.role == "text"]
        stats = [name for name in schema.names if name not in text]
        path = self._partial / f"{spec.name}.parquet"
        rows = 0
        with (
            _private_file(path) as sink,
            pq.ParquetWriter(
                sink,
                schema,
                version="2.6",
                compression="zstd",
                compression_level=3,
                use_dictionary=True,
                write_statistics=stats,
                data_page_version="1.0",
                store_schema=False,
                write_page_index=False,
                write_page_checksum=False,
            ) as writer,
        ):
            buffer: list[pa.RecordBatch] = []
            buffered = 0

            def flush(limit: int) -> None:
                nonlocal buffer, buffered, rows
                table = pa.Table.from_batches(buffer, schema=schema).combine_chunks()
                while table.num_rows >= limit and table.num_rows:
                    group = table.slice(0, ROW_GROUP_ROWS)
                    for name, transform in transforms:
                        at = group.schema.get_field_index(name)
                        group = group.set_column(at, group.schema.field(at), transform(group))
                    writer.write_table(group, row_group_size=ROW_GROUP_ROWS)
                    rows += group.num_rows
                    table = table.slice(group.num_rows)
                buffer = table.to_batches()
                buffered = table.num_rows

            part = self._parts / f"{spec.name}.bin"
            if any(place is not None for place in order):
                with part.open("rb") as source:
                    for place in order:  # one participant's rows at a time
                        if place is None:
                            continue
                        offset, length = place
                        source.seek(offset)
                        message = pa.py_buffer(source.read(length))
                        batch = pa.ipc.read_record_batch(message, schema)
                        buffer.append(batch)
                        buffered += batch.num_rows
                        if buffered >= ROW_GROUP_ROWS:
                            flush(ROW_GROUP_ROWS)
            if buffered:
                flush(1)
        return rows

    def _transforms(
        self, spec: Table, kept: dict[str, dict[str, int]]
    ) -> list[tuple[str, Callable[[pa.Table], pa.ChunkedArray]]]:
        """Column rewrites at combine time: rare own words to "other"; the study key out of
        scrubbed text (in case a participant wrote it down)."""
        out: list[tuple[str, Callable[[pa.Table], pa.ChunkedArray]]] = []
        for col in spec.by_role("term"):
            kept_words = tuple(kept.get(f"{spec.name}.{col.name}", {}))

            def rare(group: pa.Table, name: str = col.name, words: tuple = kept_words) -> Any:
                return generalise(group.column(name), group.column("custom"), words)

            out.append((col.name, rare))
        if self.free_text == "scrubbed":
            for col in spec.by_role("text"):
                out.append((col.name, lambda g, n=col.name: self.key.redact(g.column(n))))
        return out

    def _check_no_key(self) -> None:
        for path in sorted(self._partial.iterdir()):
            if path.is_file() and self.key.appears_in(path.read_bytes()):
                raise ResearchError(
                    "the study key was found in an output file; the dataset was not written"
                )

    def _manifest(
        self,
        tables: dict[str, dict[str, Any]],
        kept: dict[str, dict[str, int]],
        replaced: dict[str, dict[str, int]],
    ) -> dict[str, Any]:
        import pyarrow as pa

        entries = sorted(
            (e.as_json() for e in self._entries),
            key=lambda e: (e["input"], e["status"], e["reason"], e.get("participant_id", "")),
        )
        counts = {"inputs": len(entries)}
        reasons: dict[str, dict[str, dict[str, Any]]] = {"excluded": {}, "erred": {}}
        for status in ("included", "excluded", "erred"):
            counts[status] = sum(1 for e in entries if e["status"] == status)
        for e in entries:
            if e["status"] in reasons:
                words = (EXCLUSION_REASONS if e["status"] == "excluded" else ERROR_REASONS)[
                    e["reason"]
                ]
                slot = reasons[e["status"]].setdefault(e["reason"], {"reason": words, "count": 0})
                slot["count"] += 1
        rare: dict[str, Any] = {}
        smallest: list[int] = []
        for key in sorted(set(kept) | set(replaced)):
            sizes = list(kept.get(key, {}).values())
            smallest.extend(sizes)
            rare[key] = {
                "own_words_seen": len(kept.get(key, {})) + len(replaced.get(key, {})),
                "kept": len(sizes),
                "replaced_by_other": len(replaced.get(key, {})),
                "smallest_group_kept": min(sizes) if sizes else None,
            }
        codebook_path = self._partial / CODEBOOK
        return {
            "format": DATASET_FORMAT,
            "format_version": DATASET_FORMAT_VERSION,
            "created_by": {
                "heron_research": __version__,
                "pyarrow": pa.__version__,
                "parquet_writer": f"parquet-cpp-arrow version {pa.__version__}",
            },
            "parameters": {"free_text": self.free_text, "k": self.k},
            "key_fingerprint": self.key.fingerprint,
            "consent": {
                "rule": "a workbook is included only if consent to research use is in force "
                "when the batch runs (given, not withdrawn, to the current principles text), "
                "and then only entries the participant shared at the research level",
                "principles_version": current_principles().version,
            },
            "counts": counts,
            "excluded": reasons["excluded"],
            "erred": reasons["erred"],
            "inputs": entries,
            "skipped_by_name": {
                "count": self.skipped_by_name,
                "rule": "files in an input folder whose names are not *.heron, *.json or *.age "
                "are not read (hidden files, SQLite's -wal, -shm and -journal files beside an "
                "input, and datasets made earlier, are not counted)",
            },
            "older_bundles": {
                "count": sum(
                    1 for e in entries if e.get("older_bundle_format") and e["status"] == "included"
                ),
                "rule": "research bundles made by a version before bundle format 3 carry "
                "every named person's relationship and unscrubbed own words: their person "
                "references are left blank and their own words read as 'other' (a newer "
                "bundle from the same client replaces them)",
            },
            "inputs_unchanged": True,
            "inputs_note": "every input was opened read-only; its size and change time (and "
            "those of its -wal file) were compared before and after it was read, and an input "
            "that changed in between is listed as erred ('changed'). Inputs are named by a keyed "
            "hash of their format and workbook id (of their bytes if unreadable), never by file "
            "name or path.",
            "tables": tables,
            "codebook": {"path": CODEBOOK, "sha256": _sha256(codebook_path)},
            "time": "no calendar dates: each participant's timeline is the day index since their "
            "first record in the dataset (day 0), with the weekday and the part of the day",
            "pseudonyms": "participant and record ids are HMAC-SHA256 under a key derived from "
            "the study key, shortened to 16 hex digits; the key itself is not in the dataset",
            "free_text": {"mode": self.free_text, "note": FREE_TEXT_NOTES[self.free_text]},
            "rare_values": {
                "k": self.k,
                "rule": "a participant's own words (emotions and techniques not in the "
                "vocabularies) used by fewer than k participants are replaced by 'other'",
                "columns": rare,
                "min_group_size": min(smallest) if smallest else None,
                "quasi_identifiers": "workbooks hold no demographic fields; own words are the "
                "only values generalised",
            },
            "not_exported": not_exported(),
        }


# --- the codebook ----------------------------------------------------------------------------


def _field(col: Column, extra: tuple[str, ...]) -> dict[str, Any]:
    description = col.description
    if col.unit:
        description += f" Unit: {col.unit}."
    out: dict[str, Any] = {"name": col.name, "type": col.kind, "description": description}
    constraints: dict[str, Any] = {}
    if col.required:
        constraints["required"] = True
    if col.minimum is not None:
        constraints["minimum"] = col.minimum
    if col.maximum is not None:
        constraints["maximum"] = col.maximum
    allowed = col.allowed()
    if allowed is not None:
        constraints["enum"] = sorted({*allowed, *extra})
    if constraints:
        out["constraints"] = constraints
    return out


def codebook(
    free_text: FreeText,
    extra_terms: dict[str, tuple[str, ...]],
    tables: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """The Frictionless data package describing every table and field."""
    resources = []
    for spec in TABLES:
        info = tables[spec.name]
        schema: dict[str, Any] = {
            "fields": [
                _field(c, extra_terms.get(f"{spec.name}.{c.name}", ()))
                for c in kept_columns(spec, free_text)
            ],
            "primaryKey": list(spec.primary_key),
        }
        if spec.foreign_keys:
            schema["foreignKeys"] = [
                {"fields": [column], "reference": {"resource": table, "fields": [target]}}
                for column, table, target in spec.foreign_keys
            ]
        resources.append(
            {
                "name": spec.name,
                "title": spec.title,
                "description": spec.description,
                "path": info["path"],
                "format": "parquet",
                "mediatype": "application/vnd.apache.parquet",
                "profile": "tabular-data-resource",
                "schema": schema,
            }
        )
    return {
        "profile": "tabular-data-package",
        "name": "heron-research-dataset",
        "title": "heron-research anonymised research dataset",
        "description": "Long-format tables from the workbooks of participants whose research "
        "consent was in force, anonymised (see manifest.json). One row per entry or list "
        f"item; every table starts with participant_id. Free text: {free_text}.",
        "resources": resources,
    }


# --- reading a dataset back ------------------------------------------------------------------


@dataclass(frozen=True)
class Dataset:
    """A finished research dataset, checked against its manifest (see :func:`open_dataset`)."""

    folder: Path
    manifest: dict[str, Any]

    @property
    def tables(self) -> list[str]:
        return list(self.manifest["tables"])

    def table(self, name: str) -> pd.DataFrame:
        """One table as a pandas DataFrame (nullable integer columns as ``Int32``)."""
        import pyarrow.parquet as pq

        if name not in self.manifest["tables"]:
            raise ResearchError(
                f"the dataset has no table {name!r}; tables: {', '.join(self.tables)}"
            )
        table = pq.read_table(self.folder / self.manifest["tables"][name]["path"])
        return table.to_pandas(types_mapper=_pandas_types().get)


@cache
def _pandas_types() -> dict[Any, Any]:
    import pandas as pd
    import pyarrow as pa

    return {
        pa.int32(): pd.Int32Dtype(),
        pa.bool_(): pd.BooleanDtype(),
        pa.float64(): pd.Float64Dtype(),
        pa.string(): pd.StringDtype(),
    }


def open_dataset(folder: str | os.PathLike[str]) -> Dataset:
    """Open a dataset written by :class:`DatasetWriter`, checking every table's SHA-256
    against the manifest; :class:`~heron_research.errors.ResearchError` if one differs."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResearchError(f"{folder} is not a research dataset (it has no {MANIFEST})") from None
    except (OSError, ValueError) as exc:
        raise ResearchError(f"cannot read {folder / MANIFEST}: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != DATASET_FORMAT:
        raise ResearchError(f"{folder / MANIFEST} is not a heron-research dataset manifest")
    for name, info in manifest["tables"].items():
        path = folder / info["path"]
        if not path.exists() or _sha256(path) != info["sha256"]:
            raise ResearchError(
                f"{path} is missing or differs from the one the manifest lists ({name}); "
                "the dataset is incomplete or was changed"
            )
    return Dataset(folder, manifest)
