"""The forms, one per record a client or practitioner writes.

Each function here only chooses fields and words; saving, validation, problems next to
fields, confirmation and editing are :class:`~heron_research.forms.core.RecordForm`'s.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import date
from typing import Any

import ipywidgets as W

from heron_research.forms.core import FormContext, RecordForm, sharing_field
from heron_research.forms.fields import (
    ChipsField,
    ChoiceField,
    ComboField,
    DateField,
    DateTimeField,
    Field,
    FlagField,
    GroupField,
    ListField,
    NumberField,
    ScaleField,
    TextField,
)
from heron_research.principles import current_principles
from heron_research.records import models as m
from heron_research.records import scoring
from heron_research.records.base import Record, Sharing
from heron_research.vocab import SKILLS, emotions, interventions, techniques
from heron_research.workbook.store import StoredRecord

__all__ = [
    "agenda_item_form",
    "agenda_response_form",
    "check_in_form",
    "co_counselling_form",
    "consent_form",
    "describe",
    "episode_form",
    "focus_decision_form",
    "hypothesis_form",
    "inquiry_form",
    "intervention_form",
    "peer_review_form",
    "person_form",
    "practitioner_reaction_form",
]


def _choices(values: Sequence[str]) -> list[tuple[str, str]]:
    return [(v.replace("_", " ").capitalize(), v) for v in values]


def _args(literal: Any) -> list[str]:
    """The allowed values of a model field typed as a Literal (or Literal | None)."""
    args = getattr(literal, "__args__", ())
    out: list[str] = []
    for a in args:
        if isinstance(a, str):
            out.append(a)
        else:
            out.extend(_args(a))
    return out


def _allowed(model: type[Record], name: str) -> list[str]:
    return _args(model.model_fields[name].annotation)


def _label(model: type[Any], name: str) -> str:
    return model.model_fields[name].title or name.replace("_", " ").capitalize()


def _short(text: str, n: int = 50) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


# --- options drawn from the workbook -------------------------------------------------------


def _people(context: FormContext) -> list[tuple[str, str]]:
    return [(s.record.alias, s.id) for s in context.records("person")]  # type: ignore[attr-defined]


def _episodes(context: FormContext) -> list[tuple[str, str]]:
    rows = context.records("emotion_episode")
    return [(describe_record(s.record), s.id) for s in reversed(rows[-200:])]


def _hypotheses(context: FormContext) -> list[tuple[str, str]]:
    return [(describe_record(s.record), s.id) for s in context.records("projection_hypothesis")]


def _reviews(context: FormContext) -> list[tuple[str, str]]:
    return [(describe_record(s.record), s.id) for s in context.records("peer_review")]


# --- words for entries (confirmations, recent list) ---------------------------------------


def describe_record(record: Record) -> str:
    """A short line naming an entry, in the client's own words."""
    if isinstance(record, m.EmotionEpisode):
        feelings = ", ".join(f"{e.emotion} {e.intensity}" for e in record.emotions[:3])
        when = record.occurred_at.strftime("%d %b %H:%M")
        return f"the episode of {when} ({feelings}): {_short(record.situation, 40)}"
    if isinstance(record, m.ProjectionHypothesis):
        return f"the hypothesis '{_short(record.reaction, 30)}' ({record.status})"
    if isinstance(record, m.InquiryCycle):
        return f"the inquiry '{_short(record.question, 40)}' ({record.status})"
    if isinstance(record, m.AgendaItem):
        return f"the {record.item_type} '{_short(record.text, 40)}'"
    if isinstance(record, m.CheckIn):
        r = record.result()
        name = scoring.INSTRUMENTS[record.instrument].name
        return f"the {name} check-in of {record.taken_at:%d %b} (score {r.total:g}, {r.band})"
    if isinstance(record, m.Person):
        return f"{record.alias} ({record.relationship})"
    if isinstance(record, m.ConsentEntry):
        return f"your consent of {record.recorded_at:%d %b %Y %H:%M}"
    if isinstance(record, m.CoCounsellingSession):
        return f"the co-counselling session of {record.held_on:%d %b} with {record.peer_alias}"
    if isinstance(record, m.FocusDecision):
        return f"the {record.topic} decision of {record.decided_on:%d %b} ({record.decided_by})"
    if isinstance(record, m.PeerReview):
        return f"the peer review of {record.held_on:%d %b %Y}"
    if isinstance(record, m.PractitionerReaction):
        return f"the reaction noted on {record.noted_on:%d %b}: {_short(record.reaction, 40)}"
    if isinstance(record, m.Intervention):
        return f"the intervention of {record.session_on:%d %b}: {_short(record.description, 40)}"
    return record.kind.replace("_", " ")


def describe(stored: StoredRecord) -> str:
    """A line for the recent-entries list: the entry and when it was last saved."""
    saved = stored.updated_at.astimezone().strftime("%d %b %H:%M")
    text = describe_record(stored.record)
    return f"{text[0].upper()}{text[1:]} · saved {saved} · {stored.sharing.value}"


# --- people ---------------------------------------------------------------------------------


class PeopleField(ChipsField):
    """People involved, picked from the register with one click, and a quick way to add
    someone new."""

    def __init__(self, context: FormContext, name: str = "people", label: str = "") -> None:
        self.context = context
        super().__init__(
            name,
            label or _label(m.EmotionEpisode, "people"),
            lambda: _people(context),
            hint="Click the people who were involved; add someone new below.",
        )
        self.new_alias = W.Text(placeholder="someone new", layout=W.Layout(width="12em"))
        self.new_alias.add_class("heron-new-person-alias")
        self.new_relationship = W.Dropdown(
            options=_choices(m.RELATIONSHIPS), value="other", layout=W.Layout(width="10em")
        )
        self.new_relationship.add_class("heron-new-person-relationship")
        add = W.Button(description="Add person", icon="user-plus")
        add.add_class("heron-new-person-add")
        add.on_click(lambda _b: self.add_person())
        self.new_message = W.HTML("")
        self.box.children = (
            *self.box.children,
            W.HBox([self.new_alias, self.new_relationship, add]),
            self.new_message,
        )

    def add_person(self) -> StoredRecord | None:
        """Save the person typed in the quick-add box (private) and pick them."""
        from heron_research.errors import HeronError

        alias = self.new_alias.value.strip()
        try:
            person = m.Person.from_data(
                {"alias": alias, "relationship": self.new_relationship.value}
            )
            stored = self.context.workbook.save(person)
        except HeronError as exc:
            self.new_message.value = f'<span style="color:#8a1c1c">⚠ {html.escape(str(exc))}</span>'
            return None
        self.new_alias.value = ""
        self.new_message.value = f"Added {html.escape(alias)} to your people (private)."
        self.add_choice(stored.id)
        self.context.changed("person")
        return stored


# --- the client's forms ----------------------------------------------------------------------


def _emotion_row() -> list[Field]:
    return [
        ComboField("emotion", "Emotion", sorted(emotions())),
        ScaleField("intensity", "Intensity (0-10)", default=5),
    ]


def _self_management_row() -> list[Field]:
    return [
        ComboField(
            "technique",
            "Technique",
            sorted(techniques()),
            placeholder="what I did with the feeling",
        ),
        ChoiceField(
            "skill",
            "Skill",
            _choices(SKILLS),
            optional=True,
            none_label="(from the technique)",
        ),
        ScaleField(
            "intensity_before", "Before (0-10)", optional=True, hint="not rated: the peak above"
        ),
        ScaleField("intensity_after", "Afterwards (0-10)", default=3),
    ]


def episode_form(context: FormContext) -> RecordForm:
    """The daily one: when, what happened, what I felt and how strongly, what I did."""
    E = m.EmotionEpisode
    details = [
        TextField("body_sensations", _label(E, "body_sensations"), multiline=True),
        TextField("thoughts", _label(E, "thoughts"), multiline=True),
        TextField("what_i_did", _label(E, "what_i_did"), multiline=True),
        ScaleField("proportionality", _label(E, "proportionality"), optional=True),
        TextField("notes", _label(E, "notes"), multiline=True),
    ]
    fields: list[Field] = [
        DateTimeField("occurred_at", "When", required=True, hint="Now, unless you change it."),
        TextField(
            "situation",
            _label(E, "situation"),
            multiline=True,
            placeholder="Where was I, who was there, what happened?",
        ),
        ListField(
            "emotions", "What I felt", _emotion_row, key="emotion", add_label="+ another emotion"
        ),
        PeopleField(context),
        ListField(
            "self_management",
            "What I did with the feeling (self-management)",
            _self_management_row,
            key="technique",
            add_label="+ another technique",
        ),
        sharing_field(Sharing.PRIVATE),
    ]
    return RecordForm(
        context,
        E,
        fields,
        details=details,
        details_title="More detail: body, thoughts, what I did, how proportionate, notes",
        title="An emotional episode",
        intro="A moment today when a feeling was strong enough to notice. Only 'What happened' "
        "and one emotion are needed; the rest helps your research.",
        describe=describe_record,
    )


class ConfidenceField(Field):
    """Confidence today (0-100), kept as a dated series: a change adds a point."""

    def __init__(self) -> None:
        self.points: list[dict[str, Any]] = []
        widget = W.IntSlider(min=0, max=100, step=5, value=50, continuous_update=False)
        super().__init__(
            "confidence",
            "How confident am I in it today (0-100)",
            widget,
            hint="Each change is kept with its date, so you can see your confidence over time.",
        )

    def set(self, value: Any) -> None:
        self.points = [dict(p) for p in (value or [])]
        self.widget.value = int(self.points[-1]["confidence"]) if self.points else 50

    def reset(self) -> None:
        self.set([])

    def get(self) -> list[dict[str, Any]]:
        today = date.today().isoformat()
        points = [dict(p) for p in self.points]
        if points and str(points[-1]["on"]) == today:
            points[-1]["confidence"] = self.widget.value
        elif not points or points[-1]["confidence"] != self.widget.value:
            points.append({"on": today, "confidence": self.widget.value, "status": None})
        return points

    def blank(self) -> bool:
        return False


def _evidence_row(context: FormContext) -> list[Field]:
    return [
        ChoiceField(
            "episode_id",
            "Episode",
            lambda: _episodes(context),
            optional=True,
            none_label="(choose a logged episode)",
        ),
        ChoiceField("direction", "It…", _choices(["supports", "contradicts"]), default="supports"),
        TextField("note", "Note"),
    ]


def _stamp_confidence_status(data: dict[str, Any]) -> dict[str, Any]:
    points = data.get("confidence") or []
    if points and points[-1].get("status") is None:
        points[-1]["status"] = data.get("status")
    return data


def hypothesis_form(context: FormContext) -> RecordForm:
    """A projection hypothesis: a reaction, what it may echo, and the evidence over time."""
    H = m.ProjectionHypothesis
    fields: list[Field] = [
        DateField("opened_on", _label(H, "opened_on"), required=True),
        ChoiceField(
            "person_id",
            _label(H, "person_id"),
            lambda: _people(context),
            optional=True,
            none_label="(no one in particular)",
        ),
        TextField("situation", _label(H, "situation"), placeholder="or the situation"),
        TextField("reaction", _label(H, "reaction"), multiline=True),
        TextField("echoes", _label(H, "echoes"), multiline=True),
        ComboField("unprocessed_emotion", _label(H, "unprocessed_emotion"), sorted(emotions())),
        TextField("prediction", _label(H, "prediction"), multiline=True),
        ListField(
            "evidence",
            "Evidence from my episodes",
            lambda: _evidence_row(context),
            key="episode_id",
            add_label="+ more evidence",
        ),
        ConfidenceField(),
        ChoiceField("status", _label(H, "status"), _choices(_allowed(H, "status")), default="open"),
        sharing_field(Sharing.PRIVATE),
    ]
    return RecordForm(
        context,
        H,
        fields,
        title="A projection hypothesis",
        intro="A reaction to someone that seemed bigger than the situation may carry older, "
        "unprocessed feeling. Write down your idea, test it in daily life, and add evidence.",
        prepare=_stamp_confidence_status,
        describe=describe_record,
    )


def inquiry_form(context: FormContext) -> RecordForm:
    """An inquiry cycle: plan, act, observe, reflect in four ways of knowing."""
    C = m.InquiryCycle
    reflection = GroupField(
        "reflection",
        "Reflection in four ways of knowing",
        [
            TextField(name, _label(m.Reflection, name), multiline=True)
            for name in ("experiential", "presentational", "propositional", "practical")
        ],
    )
    fields: list[Field] = [
        TextField("question", _label(C, "question"), multiline=True),
        TextField("plan", _label(C, "plan"), multiline=True),
        DateField("started_on", _label(C, "started_on"), required=True),
        DateField("ends_on", _label(C, "ends_on"), optional=True),
        ChoiceField(
            "hypothesis_id",
            _label(C, "hypothesis_id"),
            lambda: _hypotheses(context),
            optional=True,
            none_label="(none)",
        ),
        ListField(
            "episode_ids",
            _label(C, "episode_ids"),
            lambda: [
                ChoiceField(
                    "episode_id",
                    "Episode",
                    lambda: _episodes(context),
                    optional=True,
                    none_label="(choose a logged episode)",
                )
            ],
            key="episode_id",
            add_label="+ another episode",
            scalar=True,
        ),
        TextField("observations", _label(C, "observations"), multiline=True),
        reflection,
        TextField("outcome", _label(C, "outcome"), multiline=True),
        TextField("next_step", _label(C, "next_step"), multiline=True),
        ChoiceField(
            "status", _label(C, "status"), _choices(_allowed(C, "status")), default="planning"
        ),
        sharing_field(Sharing.PRIVATE),
    ]
    return RecordForm(
        context,
        C,
        fields,
        title="An inquiry cycle",
        intro="A question about your own life that you research: plan something small, do it, "
        "notice what happens, and reflect.",
        describe=describe_record,
    )


def agenda_item_form(context: FormContext) -> RecordForm:
    """Something to raise at the next peer review: satisfaction, dissatisfaction, a request."""
    A = m.AgendaItem
    fields: list[Field] = [
        ChoiceField(
            "item_type",
            _label(A, "item_type"),
            _choices(_allowed(A, "item_type")),
            optional=True,
            none_label="(choose)",
        ),
        TextField("text", _label(A, "text"), multiline=True),
        DateField("raised_on", _label(A, "raised_on"), required=True),
        sharing_field(Sharing.PRACTITIONER),
    ]
    return RecordForm(
        context,
        A,
        fields,
        title="For my next peer review",
        intro="Your own items open the review: what satisfies you, what doesn't, what you want "
        "to ask for. Shared with your practitioner unless you choose otherwise.",
        fixed={"raised_by": "client"},
        describe=describe_record,
    )


class AnswersField(Field):
    """The questions of the chosen questionnaire, each with its answer choices."""

    def __init__(self, instrument: ChoiceField) -> None:
        self.instrument = instrument
        self.items: list[W.Dropdown] = []
        self.item_errors: list[Field] = []
        super().__init__("answers", "Answers", W.VBox([]))
        instrument.widget.observe(lambda _c: self._build([]), names="value")
        self._build([])

    def _build(self, answers: Sequence[int | None]) -> None:
        spec = scoring.INSTRUMENTS[self.instrument.widget.value]
        if spec.answer_max == 3:
            words = ["not at all", "several days", "more than half the days", "nearly every day"]
            options = [(f"{i}: {w}", i) for i, w in enumerate(words)]
        else:
            options = [(str(i), i) for i in range(spec.answer_min, spec.answer_max + 1)]
        self.item_errors = []
        rows = []
        for i, question in enumerate(spec.items):
            value = answers[i] if i < len(answers) else None
            field = ChoiceField(
                str(i),
                f"{i + 1}. {question}",
                options,
                optional=True,
                none_label="(choose)",
                default=value,
            )
            field.bind(("answers", i))
            self.item_errors.append(field)
            rows.append(field.box)
        self.widget.children = tuple(rows)

    def get(self) -> list[int | None]:
        return [f.get() for f in self.item_errors]

    def set(self, value: Any) -> None:
        self._build(list(value or []))

    def reset(self) -> None:
        if hasattr(self, "instrument"):
            self._build([])

    def locate(self, path: tuple[str | int, ...]) -> Field:
        if path and isinstance(path[0], int) and path[0] < len(self.item_errors):
            return self.item_errors[path[0]]
        return self

    def clear_problems(self) -> None:
        super().clear_problems()
        for f in getattr(self, "item_errors", []):
            f.clear_problems()


def check_in_form(context: FormContext) -> RecordForm:
    """PHQ-9, GAD-7 or our wellbeing items; the score and band are shown after saving."""
    instrument = ChoiceField(
        "instrument",
        "Questionnaire",
        [(spec.name, key) for key, spec in scoring.INSTRUMENTS.items()],
        default="phq9",
    )
    answers = AnswersField(instrument)
    result = W.HTML("")
    result.add_class("heron-check-in-result")

    def show_result(stored: StoredRecord) -> None:
        record = stored.record
        assert isinstance(record, m.CheckIn)
        r = record.result()
        spec = scoring.INSTRUMENTS[record.instrument]
        parts = [
            f"<p><b>{html.escape(spec.name)}</b>: score {r.total:g}, {html.escape(r.band)}.</p>"
        ]
        if r.item9_flag:
            parts.append(
                '<div class="heron-safety-note" style="border-left:4px solid #5c6bc0;'
                f'padding:6px 10px;background:#f3f4fb">{html.escape(scoring.SAFETY_NOTE)}</div>'
            )
        result.value = "".join(parts)

    fields: list[Field] = [instrument, answers, sharing_field(Sharing.PRIVATE)]
    form = RecordForm(
        context,
        m.CheckIn,
        fields,
        title="Check-in",
        intro="A short questionnaire every couple of weeks, so you and your practitioner can "
        "see change over time. PHQ-9 and GAD-7 ask about the last two weeks; the wellbeing "
        "items about this week.",
        describe=describe_record,
        after_save=show_result,
    )
    form.widget.children = (*form.widget.children, result)
    form.result = result  # type: ignore[attr-defined]
    return form


def person_form(context: FormContext) -> RecordForm:
    P = m.Person
    fields: list[Field] = [
        TextField("alias", _label(P, "alias"), placeholder="a first name, initial or nickname"),
        ChoiceField(
            "relationship", _label(P, "relationship"), _choices(m.RELATIONSHIPS), default="other"
        ),
        TextField("notes", _label(P, "notes"), multiline=True),
        sharing_field(Sharing.PRIVATE),
    ]
    return RecordForm(
        context,
        P,
        fields,
        title="My people",
        intro="The people in your episodes, named as you like. Aliases are fine.",
        describe=describe_record,
    )


def consent_form(context: FormContext) -> RecordForm:
    """The principles text, the consent in force, and a new ledger entry."""
    import mistune

    principles = current_principles()
    to_html = mistune.create_markdown(escape=True)
    text = W.HTML(
        str(to_html(principles.text)),
        layout=W.Layout(max_height="24em", overflow="auto", border="1px solid #ddd"),
    )
    text.add_class("heron-principles")
    state = W.HTML("")
    state.add_class("heron-consent-state")

    def show_state(_kind: str = "") -> None:
        consent = context.workbook.consent()
        lines = [html.escape(consent.describe())]
        if consent.given and not consent.principles_current:
            lines.append(
                "<b>The principles have changed since you agreed to them. Please read them "
                "again and record your consent to this version.</b>"
            )
        elif not consent.given:
            lines.append("<b>Please read the principles and record your consent.</b>")
        state.value = "<p>" + "<br>".join(lines) + "</p>"

    C = m.ConsentEntry
    fields: list[Field] = [
        FlagField("training", _label(C, "training")),
        FlagField("practitioner_sharing", _label(C, "practitioner_sharing")),
        FlagField("research", _label(C, "research")),
        TextField("note", _label(C, "note"), placeholder="optional"),
    ]
    form = RecordForm(
        context,
        C,
        fields,
        title="Principles and consent",
        intro=f"The principles of this training (version {principles.version}). You can change "
        "or withdraw your consent at any time: untick what you no longer agree to and save. "
        "Every change is kept.",
        fixed={"principles_version": principles.version, "sharing": "practitioner"},
        describe=describe_record,
        after_save=lambda _s: show_state(),
        save_label="Record my consent",
    )
    children = list(form.widget.children)
    children[2:2] = [text, state]
    form.widget.children = tuple(children)
    context.on_change(lambda kind: show_state() if kind == "consent" else None)

    def preset() -> None:
        entry = context.workbook.consent().entry
        for name in ("training", "practitioner_sharing", "research"):
            form.field(name).set(bool(entry and getattr(entry, name)))

    original_new_entry = form.new_entry

    def new_entry() -> None:
        original_new_entry()
        preset()
        form.save_button.description = "Record my consent"

    form.new_entry = new_entry  # type: ignore[method-assign]
    show_state()
    preset()
    return form


def co_counselling_form(context: FormContext) -> RecordForm:
    S = m.CoCounsellingSession
    fields: list[Field] = [
        DateField("held_on", _label(S, "held_on"), required=True),
        TextField("peer_alias", _label(S, "peer_alias")),
        NumberField("minutes_as_client", _label(S, "minutes_as_client"), lo=0, hi=600, default=30),
        NumberField(
            "minutes_as_counsellor", _label(S, "minutes_as_counsellor"), lo=0, hi=600, default=30
        ),
        ChoiceField(
            "contract", _label(S, "contract"), _choices(_allowed(S, "contract")), default="normal"
        ),
        TextField("worked_on", _label(S, "worked_on"), multiline=True),
        TextField("discharge", _label(S, "discharge"), multiline=True),
        TextField("re_evaluation", _label(S, "re_evaluation"), multiline=True),
        sharing_field(Sharing.PRIVATE),
    ]
    return RecordForm(
        context,
        S,
        fields,
        title="Co-counselling session",
        intro="A session with a peer: equal time each way, and the client is in charge.",
        describe=describe_record,
    )


# --- the practitioner's forms -----------------------------------------------------------------


def focus_decision_form(context: FormContext) -> RecordForm:
    D = m.FocusDecision
    fields: list[Field] = [
        DateField("decided_on", _label(D, "decided_on"), required=True),
        ChoiceField("topic", _label(D, "topic"), _choices(_allowed(D, "topic")), default="focus"),
        TextField("decision", _label(D, "decision"), multiline=True),
        ChoiceField(
            "proposed_by",
            _label(D, "proposed_by"),
            _choices(_allowed(D, "proposed_by")),
            default="client",
        ),
        ChoiceField(
            "decided_by",
            _label(D, "decided_by"),
            [
                ("Autonomy: the client decided", "autonomy"),
                ("Co-operation: decided together", "co-operation"),
                ("Hierarchy: the practitioner decided", "hierarchy"),
            ],
            default="co-operation",
        ),
        TextField("notes", _label(D, "notes"), multiline=True),
        sharing_field(Sharing.PRACTITIONER),
    ]
    return RecordForm(
        context,
        D,
        fields,
        title="A decision about the training",
        intro="Every decision about focus, structure, method, frequency, homework or "
        "continuing, with who proposed it and how it was decided.",
        describe=describe_record,
    )


def peer_review_form(context: FormContext) -> RecordForm:
    R = m.PeerReview
    outcome = [(o.capitalize(), o) for o in ("continue", "change", "pause", "end")]
    ratings = GroupField(
        "ratings",
        "The client's ratings (0-10)",
        [
            ScaleField(name, _label(m.Ratings, name), optional=True)
            for name in ("focus", "method", "relationship", "my_say", "overall")
        ],
    )
    fields: list[Field] = [
        DateField("held_on", _label(R, "held_on"), required=True),
        DateField("period_start", _label(R, "period_start"), required=True),
        DateField("period_end", _label(R, "period_end"), required=True),
        ratings,
        ChoiceField("client_view", _label(R, "client_view"), outcome, optional=True),
        ChoiceField("practitioner_view", _label(R, "practitioner_view"), outcome, optional=True),
        ChoiceField("agreed_outcome", _label(R, "agreed_outcome"), outcome, optional=True),
        TextField("reason", _label(R, "reason"), multiline=True),
        TextField("dissent", _label(R, "dissent"), multiline=True),
        DateField("next_review_on", _label(R, "next_review_on"), optional=True),
        sharing_field(Sharing.PRACTITIONER),
    ]
    return RecordForm(
        context,
        R,
        fields,
        title="Peer review",
        intro="The client's agenda comes first. Record the client's ratings, both views on "
        "continuing, the agreed outcome and any dissent.",
        describe=describe_record,
    )


def agenda_response_form(context: FormContext) -> RecordForm:
    """Respond to an agenda item the client raised: pick it, answer it, link the review."""
    A = m.AgendaItem
    picker = W.Dropdown(description="Item", layout=W.Layout(width="40em"))
    picker.add_class("heron-agenda-picker")
    raised = W.HTML("")
    fields: list[Field] = [
        TextField("response", _label(A, "response"), multiline=True),
        FlagField("resolved", _label(A, "resolved")),
        ChoiceField(
            "review_id",
            _label(A, "review_id"),
            lambda: _reviews(context),
            optional=True,
            none_label="(not linked)",
        ),
    ]
    form = RecordForm(
        context,
        A,
        fields,
        title="Responses to the client's agenda",
        intro="Pick an item the client raised, write the response, and mark it resolved when "
        "it is.",
        describe=describe_record,
        save_label="Save response",
    )

    def load_items(_kind: str = "") -> None:
        items = context.records("agenda_item")
        items.sort(key=lambda s: (s.record.resolved, s.record.raised_on))  # type: ignore[attr-defined]
        picker.options = [("(choose an item)", None)] + [
            (("✓ " if s.record.resolved else "") + describe_record(s.record), s.id)  # type: ignore[attr-defined]
            for s in items
        ]

    def choose(change: dict[str, Any]) -> None:
        if change["new"]:
            stored = context.workbook.get_stored(change["new"])
            form.edit(stored)
            raised.value = f"<blockquote>{html.escape(stored.record.text)}</blockquote>"  # type: ignore[attr-defined]

    picker.observe(choose, names="value")
    context.on_change(lambda kind: load_items() if kind == "agenda_item" else None)
    load_items()
    children = list(form.widget.children)
    children[2:2] = [picker, raised]
    form.widget.children = tuple(children)
    return form


def practitioner_reaction_form(context: FormContext) -> RecordForm:
    P = m.PractitionerReaction
    fields: list[Field] = [
        DateField("noted_on", _label(P, "noted_on"), required=True),
        TextField("reaction", _label(P, "reaction"), multiline=True),
        TextField("possible_source", _label(P, "possible_source"), multiline=True),
        TextField("how_addressed", _label(P, "how_addressed"), multiline=True),
    ]
    return RecordForm(
        context,
        P,
        fields,
        title="My reactions to the client",
        intro="Practitioner-to-client transference, addressed openly: the client always sees "
        "these notes.",
        fixed={"sharing": "practitioner"},
        describe=describe_record,
    )


def intervention_form(context: FormContext) -> RecordForm:
    I = m.Intervention  # noqa: E741
    cats = [(f"{k.capitalize()}: {v.description}", k) for k, v in interventions().items()]
    fields: list[Field] = [
        DateField("session_on", _label(I, "session_on"), required=True),
        TextField("description", _label(I, "description"), multiline=True),
        ChoiceField("intended", _label(I, "intended"), cats, optional=True),
        ChoiceField("perceived", _label(I, "perceived"), cats, optional=True),
        sharing_field(Sharing.PRACTITIONER),
    ]
    return RecordForm(
        context,
        I,
        fields,
        title="Interventions (six categories)",
        intro="Tag an intervention as intended, and as the client perceived it.",
        describe=describe_record,
    )
