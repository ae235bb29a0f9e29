"""The record base class, sharing levels, and validation that speaks to people.

Every record kind is a pydantic model derived from :class:`Record`. Validation lives
here and in the models, never in the widgets: forms, the importer and the CLI all call
:func:`validate_record`, which turns pydantic's errors into :class:`RecordValidationError`
with one :class:`FieldProblem` per bad field, in words a client understands.

A record class that sets ``kind`` registers itself here when it is made, with its
:class:`~heron_research.records.facts.KindFacts`: :func:`record_types` is the one list of
kinds, in the order it is declared (the order exports list them).
"""

from __future__ import annotations

import typing
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, ClassVar, Literal, Self, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import core_schema

from heron_research.errors import FieldError, FieldProblem, RecordValidationError
from heron_research.records.facts import KindFacts

__all__ = [
    "DOCUMENT_CONTEXT",
    "FIRST_YEAR",
    "LAST_YEAR",
    "NOT_BLANK",
    "TEXT_LIMIT",
    "FieldError",
    "LimitsSchema",
    "Record",
    "Sharing",
    "SubRecord",
    "allowed_values",
    "aware",
    "check_year",
    "new_id",
    "record_type",
    "record_types",
    "short",
    "validate_record",
    "year_pattern",
]


class Sharing(StrEnum):
    """Who may see a record, chosen by the client. Ordered: each level includes the last."""

    PRIVATE = "private"  # only me
    PRACTITIONER = "practitioner"  # me and my practitioner
    RESEARCH = "research"  # also anonymised research, while research consent is in force

    @property
    def rank(self) -> int:
        return _SHARING_RANK[self]


_SHARING_RANK = {Sharing.PRIVATE: 0, Sharing.PRACTITIONER: 1, Sharing.RESEARCH: 2}


def new_id() -> str:
    """A new random record id (32 hex digits)."""
    return uuid.uuid4().hex


def aware(value: datetime) -> datetime:
    """``value`` with a time zone: a naive time is taken as this computer's local time.

    For code and forms on this computer only: a time read from a document (an export, a
    bundle) must carry its offset, see :data:`DOCUMENT_CONTEXT`."""
    return value if value.tzinfo is not None else value.astimezone()


#: The pydantic validation context for records read from a document (an export or a
#: bundle) rather than made on this computer: a time without an offset is refused there,
#: since "this computer's local time" (:func:`aware`) would make the same file mean
#: different moments on different computers. Pass a copy, ``model_validate(data,
#: context=dict(DOCUMENT_CONTEXT))``, or call ``validate_record(cls, data, document=True)``.
DOCUMENT_CONTEXT: Mapping[str, bool] = MappingProxyType({"document": True})
_NEEDS_OFFSET = "a time needs its offset (Z or +hh:mm)"


#: The years a date or time may fall in, everywhere (records, exports, bundles): the one
#: source of the range. Reports read dates with pandas, whose timestamps stop in 2262, and
#: nothing in a programme comes before 1900.
FIRST_YEAR, LAST_YEAR = 1900, 2200
#: The most characters a piece of text may hold (after its ends are trimmed).
TEXT_LIMIT = 20_000
_TEXT_LIMIT = TEXT_LIMIT


def check_year(value: date | datetime) -> None:
    """ValueError unless ``value`` falls in the years :data:`FIRST_YEAR` to :data:`LAST_YEAR`."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"must be between the years {FIRST_YEAR} and {LAST_YEAR}")


def year_pattern(first: int = FIRST_YEAR, last: int = LAST_YEAR) -> str:
    """A regular expression (no anchors) matching the four-digit years ``first`` to ``last``:
    a whole century as ``19[0-9][0-9]``, the years of a part-century one by one."""
    parts = []
    for century in range(first // 100, last // 100 + 1):
        years = [y for y in range(century * 100, century * 100 + 100) if first <= y <= last]
        if len(years) == 100:
            parts.append(f"{century:02d}[0-9][0-9]")
        else:
            parts.extend(f"{y:04d}" for y in years)
    return "(?:" + "|".join(parts) + ")"


class LimitsSchema(GenerateJsonSchema):
    """The JSON Schema generator for records and the documents that carry them: it states
    the limits the validators enforce beyond pydantic's own constraints, so a schema reader
    refuses what :func:`validate_record` refuses. Dates and times start with a year from
    :data:`FIRST_YEAR` to :data:`LAST_YEAR`, and a time ends with its offset; text has at
    most :data:`TEXT_LIMIT` characters.

    Records trim white space at both ends of text before they check its length
    (``str_strip_whitespace``), which a JSON Schema cannot do. Such a string says so in a
    ``$comment``, and one that must not be empty gets a pattern asking for a character
    that is not trimmed (:data:`NOT_BLANK`), so text of only spaces is refused by both. The
    lengths a schema reader counts include the padding: it refuses text over the limit
    only with its padding, which the records accept, the safe direction (nothing
    heron-research writes is padded: it stores text trimmed)."""

    def str_schema(self, schema: core_schema.StringSchema) -> dict[str, Any]:
        out = super().str_schema(schema)
        if "maxLength" not in out and "enum" not in out:
            out["maxLength"] = TEXT_LIMIT
        if schema.get("strip_whitespace", self._config.str_strip_whitespace):
            out["$comment"] = _TRIMMED
            if out.get("minLength", 0) >= 1:
                if "pattern" in out:  # keep pydantic's own pattern: both must match
                    out.setdefault("allOf", []).append({"pattern": NOT_BLANK})
                else:
                    out["pattern"] = NOT_BLANK
        return out

    def date_schema(self, schema: core_schema.DateSchema) -> dict[str, Any]:
        out = super().date_schema(schema)
        out["pattern"] = f"^{year_pattern()}-"
        return out

    def datetime_schema(self, schema: core_schema.DatetimeSchema) -> dict[str, Any]:
        out = super().datetime_schema(schema)
        # the offset too, for readers that take ``format`` as a note only (2020-12's default)
        out["pattern"] = f"^{year_pattern()}-.*{_OFFSET}$"
        return out


#: The characters pydantic trims from the ends of text (``str_strip_whitespace``: Unicode
#: White_Space), as a JSON Schema pattern. Spelled out, not ``\s``: ECMA-262's ``\s`` has
#: U+FEFF (not trimmed) and lacks U+0085 (trimmed); Python's has U+001C-U+001F (not trimmed).
_TRIMMED_CHARS = r"\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
#: A JSON Schema pattern (unanchored, ECMA-262): somewhere, a character that is not trimmed.
NOT_BLANK = f"[^{_TRIMMED_CHARS}]"
_TRIMMED = (
    "White space at both ends is trimmed before the length is checked: minLength and "
    "maxLength count the trimmed text"
)
#: The end of an RFC 3339 time: its offset from UTC.
_OFFSET = "(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"


def _in_document(info: ValidationInfo) -> bool:
    """Whether the value is read from a document (:data:`DOCUMENT_CONTEXT`)."""
    return bool(info.context and info.context.get("document"))


def _too_long(text: str) -> str:
    return f"is too long ({len(text):,} characters); the most allowed is {_TEXT_LIMIT:,} characters"


class SubRecord(BaseModel):
    """A part of a record (an emotion in an episode, an evidence item in a hypothesis)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _limits(cls, value: Any, info: ValidationInfo) -> Any:
        """Text within :data:`TEXT_LIMIT`; in a document, times with their offset (this
        runs before the kinds' own checks, which take a naive time as local time)."""
        if isinstance(value, datetime) and value.tzinfo is None and _in_document(info):
            raise ValueError(f"{_NEEDS_OFFSET}; it is {value.isoformat()!r}")
        if isinstance(value, str) and len(value) > _TEXT_LIMIT:
            raise ValueError(_too_long(value))
        if isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, str) and len(item) > _TEXT_LIMIT:
                    raise FieldError((i,), _too_long(item))
        return value


class Record(SubRecord):
    """Fields every record has. ``kind`` names the record type in storage and exports.

    A concrete kind sets ``kind``, ``facts`` and :meth:`describe`; setting ``kind``
    registers the class (see :func:`record_types`).
    """

    kind: ClassVar[str]
    #: What the kind declares about itself: labels, writing side, report and research use.
    facts: ClassVar[KindFacts]
    #: The field that dates the record (for period filters), or None if it has no date.
    when_field: ClassVar[str | None] = None
    id: str = Field(
        default_factory=new_id,
        title="Id",
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
    )
    sharing: Sharing = Field(default=Sharing.PRIVATE, title="Sharing")

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "kind" in cls.__dict__:
            _register(cls)

    def describe(self) -> str:
        """A short line naming this entry, in the client's own words."""
        raise NotImplementedError(f"{type(self).__name__} does not say how it is described")

    def when(self) -> date | datetime | None:
        """The date or time that places this record in a period, if it has one."""
        return getattr(self, self.when_field) if self.when_field else None

    @classmethod
    def derived_columns(cls) -> dict[str, str]:
        """Names and pandas dtypes of the columns :meth:`derived` adds to frames."""
        return {}

    def derived(self) -> dict[str, Any]:
        """Columns computed from the record (e.g. a check-in's score) for frames and reports."""
        return {}

    def to_data(self) -> dict[str, Any]:
        """The record as JSON-ready data, as stored in the workbook and in exports."""
        return self.model_dump(mode="json")

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Self:
        """Validate ``data`` (as from a form, an import or storage) into a record."""
        return validate_record(cls, data)


R = TypeVar("R", bound=Record)

# --- the registry of kinds ------------------------------------------------------------------

_KINDS: dict[str, type[Record]] = {}
#: Every record kind, by its storage name, in the order declared (a read-only view).
RECORD_TYPES: Mapping[str, type[Record]] = MappingProxyType(_KINDS)


def _register(cls: type[Record]) -> None:
    kind = cls.__dict__["kind"]
    if not isinstance(cls.__dict__.get("facts"), KindFacts):
        raise TypeError(f"{cls.__name__} sets kind {kind!r} but declares no KindFacts")
    known = _KINDS.get(kind)
    if known is not None and known.__qualname__ != cls.__qualname__:
        raise TypeError(
            f"record kind {kind!r} is declared twice ({known.__name__}, {cls.__name__})"
        )
    _KINDS[kind] = cls


def record_types() -> Mapping[str, type[Record]]:
    """Every record kind by its storage name, in the order declared."""
    return RECORD_TYPES


def record_type(kind: str) -> type[Record]:
    """The record class for a kind name; ValueError naming the known kinds otherwise."""
    try:
        return _KINDS[kind]
    except KeyError:
        known = ", ".join(_KINDS)
        raise ValueError(f"unknown record kind {kind!r}; known kinds: {known}") from None


def forget_kind(kind: str) -> None:
    """Remove a registered kind (for tests that declare a throwaway kind)."""
    _KINDS.pop(kind, None)


# --- small facts drawn from the models ------------------------------------------------------


def allowed_values(model: type[BaseModel], name: str) -> tuple[str, ...]:
    """The allowed values of a field typed as a ``Literal`` (or ``Literal | None``), in order.

    TypeError if the field is not a fixed choice.
    """
    stack = [model.model_fields[name].annotation]
    while stack:
        current = stack.pop()
        if typing.get_origin(current) is Literal:
            return tuple(str(a) for a in typing.get_args(current))
        stack.extend(typing.get_args(current))
    raise TypeError(f"{model.__name__}.{name} is not a fixed choice")


def short(text: str, n: int = 50) -> str:
    """``text`` on one line, cut to ``n`` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def validate_record(cls: type[R], data: dict[str, Any], *, document: bool = False) -> R:
    """Build a ``cls`` record from ``data`` or raise :class:`RecordValidationError`.

    Every problem is reported, each naming its field in words and saying what is allowed.
    ``document``: the data comes from a document (an export, a bundle), where a time
    without an offset is refused (:data:`DOCUMENT_CONTEXT`).
    """
    try:
        return cls.model_validate(data, context=dict(DOCUMENT_CONTEXT) if document else None)
    except ValidationError as exc:
        problems = [_problem(cls, err) for err in exc.errors(include_url=False)]
        facts = getattr(cls, "facts", None)
        label = facts.label if facts else cls.kind.replace("_", " ")
        raise RecordValidationError(cls.kind, problems, label=label) from None


# --- turning pydantic's errors into words --------------------------------------------------


def _field_info(model: type[BaseModel], loc: tuple[str | int, ...]) -> tuple[Any, str]:
    """The FieldInfo at ``loc`` (or None) and the label path a person would read."""
    labels: list[str] = []
    current: Any = model
    info = None
    for part in loc:
        if isinstance(part, int):
            if labels:
                labels[-1] = f"{labels[-1]} {part + 1}"
            continue
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            labels.append(str(part).replace("_", " ").capitalize())
            info = None
            current = None
            continue
        info = fields[part]
        labels.append(info.title or part.replace("_", " ").capitalize())
        current = _inner_model(info.annotation)
    return info, " › ".join(labels) or model.__name__


def _inner_model(annotation: Any) -> Any:
    """The BaseModel inside an annotation such as ``list[Model]`` or ``Model | None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _metadata(info: Any) -> list[Any]:
    """Constraint objects on a field, including those inside ``Annotated[int, ...] | None``."""
    found = list(getattr(info, "metadata", ()) or ())
    stack = [getattr(info, "annotation", None)]
    while stack:
        ann = stack.pop()
        for meta in getattr(ann, "__metadata__", ()) or ():
            found.append(meta)
            found.extend(getattr(meta, "metadata", ()) or ())  # a FieldInfo in Annotated
        stack.extend(getattr(ann, "__args__", ()) or ())
    return found


def _bounds(info: Any) -> tuple[Any, Any]:
    lo = hi = None
    for meta in _metadata(info):
        lo = getattr(meta, "ge", None) if getattr(meta, "ge", None) is not None else lo
        hi = getattr(meta, "le", None) if getattr(meta, "le", None) is not None else hi
    return lo, hi


def _shown(value: Any) -> str:
    if isinstance(value, int) and value.bit_length() > 64:
        return "a number too long to show"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "…"


def _problem(model: type[BaseModel], err: dict[str, Any]) -> FieldProblem:
    loc = tuple(err.get("loc", ()))
    ctx = err.get("ctx") or {}
    cause = ctx.get("error")
    if isinstance(cause, FieldError):
        loc = loc + cause.field
    # pydantic appends the tag or function name for unions; keep only real field parts
    loc = tuple(
        p for p in loc if isinstance(p, int) or not str(p).startswith(("function-", "lax-"))
    )
    info, label = _field_info(model, loc)
    return FieldProblem(field=loc, label=label, message=_message(err, info, cause))


def _range_words(info: Any, whole: bool) -> str:
    lo, hi = _bounds(info)
    kind = "a whole number" if whole else "a number"
    if lo is not None and hi is not None:
        return f"must be {kind} from {lo} to {hi}"
    if lo is not None:
        return f"must be {kind} of at least {lo}"
    if hi is not None:
        return f"must be {kind} of at most {hi}"
    return f"must be {kind}"


def _message(err: dict[str, Any], info: Any, cause: Any) -> str:
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    given = err.get("input")
    if isinstance(cause, FieldError):
        return cause.message
    if kind == "value_error" and cause is not None:
        return str(cause)
    if kind == "missing" or (given is None and kind.endswith(("_type", "_parsing"))):
        return "please fill this in"
    if kind == "string_too_short":
        return "please fill this in; it can't be empty"
    if kind == "string_too_long":
        return (
            f"is too long ({len(given):,} characters); the most allowed is "
            f"{ctx.get('max_length'):,} characters"
        )
    if kind == "string_pattern_mismatch":
        return "may only contain letters, digits, '-' and '_'"
    if kind in {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}:
        whole = isinstance(given, int) or getattr(info, "annotation", None) is int
        return f"{_range_words(info, whole)} (you gave {_shown(given)})"
    if kind in {"int_parsing", "int_from_float", "int_type"}:
        return f"{_range_words(info, True)} (you gave {_shown(given)})"
    if kind in {"float_parsing", "float_type", "finite_number"}:
        return f"{_range_words(info, False)} (you gave {_shown(given)})"
    if kind in {"bool_parsing", "bool_type"}:
        return f"must be yes or no (you gave {_shown(given)})"
    if kind in {"literal_error", "enum"}:
        expected = ctx.get("expected", "")
        return f"must be one of {expected} (you gave {_shown(given)})"
    if kind.startswith("datetime") or kind.startswith("timezone"):
        return f"must be a date and time, like 2025-03-14 18:30 (you gave {_shown(given)})"
    if kind.startswith("date"):
        return f"must be a date, like 2025-03-14 (you gave {_shown(given)})"
    if kind == "too_short":
        n = ctx.get("min_length", 1)
        return f"needs at least {n} {'entry' if n == 1 else 'entries'}"
    if kind == "too_long":
        return f"can have at most {ctx.get('max_length')} entries"
    if kind == "extra_forbidden":
        return "is not something this kind of entry has"
    if kind in {"string_type", "string_unicode"}:
        return "must be text"
    if kind in {"list_type", "tuple_type"}:
        return "must be a list"
    if kind in {"model_type", "model_attributes_type", "dict_type"}:
        return "must be a group of fields"
    return str(err.get("msg", "is not allowed"))
