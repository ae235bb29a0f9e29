"""The forms, one per record a client or practitioner writes, each registered for its kind.

Each builder only names its fields and the few words the model does not give (a
placeholder, a hint, its own words for a choice): the fields themselves come from the
record models (:func:`~heron_research.forms.fields.field_for`). Saving, validation,
problems next to fields, confirmation and editing are
:class:`~heron_research.forms.core.RecordForm`'s; where a form appears is its registration
(:func:`~heron_research.forms.registry.form_for`).
"""

from __future__ import annotations

import html
import re
from functools import partial
from typing import Any

import ipywidgets as W

from heron_research.forms.core import FormContext, RecordForm, sharing_field
from heron_research.forms.fields import (
    ChoiceField,
    ComboField,
    Field,
    GroupField,
    ListField,
    field_for,
    fields_for,
)
from heron_research.forms.record_fields import (
    AnswersField,
    CheckInResult,
    ConfidenceField,
    PeopleField,
    entry_choices,
    episode_choice,
    people_choices,
    person_not_twice,
)
from heron_research.forms.registry import form_for
from heron_research.principles import current_principles, edition_words
from heron_research.records import (
    AGENDA_ITEM,
    AGENDA_RESPONSE,
    CHECK_IN,
    CO_COUNSELLING_SESSION,
    CONSENT,
    EMOTION_EPISODE,
    FOCUS_DECISION,
    INQUIRY_CYCLE,
    INTERVENTION,
    PEER_REVIEW,
    PERSON,
    PRACTITIONER_REACTION,
    PROJECTION_HYPOTHESIS,
    REVIEW_RATING,
    Side,
    scoring,
)
from heron_research.records import models as m
from heron_research.records.consent import ConsentState
from heron_research.vocab import emotions, interventions, techniques
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
    "review_rating_form",
]

CLIENT, PRACTITIONER = Side.CLIENT, Side.PRACTITIONER


def describe(stored: StoredRecord) -> str:
    """A line for the recent-entries list: the entry and when it was last saved."""
    saved = stored.updated_at.astimezone().strftime("%d %b %H:%M")
    text = stored.record.describe()
    return f"{text[0].upper()}{text[1:]} · saved {saved} · {stored.sharing.value}"


# --- the client's forms ----------------------------------------------------------------------


def _emotion_row() -> list[Field]:
    return [
        field_for(m.EmotionRating, "emotion", ComboField, options=sorted(emotions())),
        field_for(m.EmotionRating, "intensity", default=5),
    ]


def _self_management_row() -> list[Field]:
    f = partial(field_for, m.SelfManagement)
    return [
        f(
            "technique",
            ComboField,
            options=sorted(techniques()),
            placeholder="what I did with the feeling",
        ),
        f("skill", none_label="(from the technique)"),
        f("intensity_before", label="Before (0-10)", hint="not rated: the peak above"),
        f("intensity_after", label="Afterwards (0-10)", default=3),
    ]


@form_for(EMOTION_EPISODE, side=CLIENT, tab="Today", order=10)
def episode_form(context: FormContext) -> RecordForm:
    """The daily one: when, what happened, what I felt and how strongly, what I did."""
    E = m.EmotionEpisode
    fields: list[Field] = [
        field_for(E, "occurred_at", hint="Now, unless you change it."),
        field_for(E, "situation", placeholder="Where was I, who was there, what happened?"),
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
        sharing_field(E),
    ]
    return RecordForm(
        context,
        E,
        fields,
        details=fields_for(
            E, "body_sensations", "thoughts", "what_i_did", "proportionality", "notes"
        ),
        details_title="More detail: body, thoughts, what I did, how proportionate, notes",
        title="An emotional episode",
        intro="A moment today when a feeling was strong enough to notice. Only the situation "
        "and one emotion are needed; the rest helps your research.",
    )


def _evidence_row(context: FormContext) -> list[Field]:
    return [
        episode_choice(context),
        field_for(m.Evidence, "direction", label="It…"),
        field_for(m.Evidence, "note", multiline=False),
    ]


def _stamp_confidence_status(data: dict[str, Any]) -> dict[str, Any]:
    points = data.get("confidence") or []
    if points and points[-1].get("status") is None:
        points[-1]["status"] = data.get("status")
    return data


@form_for(PROJECTION_HYPOTHESIS, side=CLIENT, tab="Hypotheses", order=20)
def hypothesis_form(context: FormContext) -> RecordForm:
    """A projection hypothesis: a reaction, what it may echo, and the evidence over time."""
    H = m.ProjectionHypothesis
    f = partial(field_for, H)
    fields: list[Field] = [
        f("opened_on"),
        f(
            "person_id",
            ChoiceField,
            options=lambda: people_choices(context),
            none_label="(no one in particular)",
        ),
        f("situation", multiline=False, placeholder="or the situation"),
        *fields_for(H, "reaction", "echoes"),
        f("unprocessed_emotion", ComboField, options=sorted(emotions())),
        f("prediction"),
        ListField(
            "evidence",
            "Evidence from my episodes",
            lambda: _evidence_row(context),
            key="episode_id",
            add_label="+ more evidence",
        ),
        ConfidenceField(),
        f("status"),
        sharing_field(H),
    ]
    return RecordForm(
        context,
        H,
        fields,
        title="A projection hypothesis",
        intro="A reaction to someone that seemed bigger than the situation may carry older, "
        "unprocessed feeling. Write down your idea, test it in daily life, and add evidence.",
        prepare=_stamp_confidence_status,
    )


@form_for(INQUIRY_CYCLE, side=CLIENT, tab="Inquiry", order=30)
def inquiry_form(context: FormContext) -> RecordForm:
    """An inquiry cycle: plan, act, observe, reflect in four ways of knowing."""
    C = m.InquiryCycle
    f = partial(field_for, C)
    fields: list[Field] = [
        *fields_for(C, "question", "plan", "started_on", "ends_on"),
        f(
            "hypothesis_id",
            ChoiceField,
            options=lambda: entry_choices(context, PROJECTION_HYPOTHESIS),
            none_label="(none)",
        ),
        f(
            "episode_ids",
            ListField,
            make_row=lambda: [episode_choice(context)],
            key="episode_id",
            add_label="+ another episode",
            scalar=True,
        ),
        f("observations"),
        GroupField(
            "reflection",
            "Reflection in four ways of knowing",
            fields_for(m.Reflection, *m.Reflection.model_fields),
        ),
        *fields_for(C, "outcome", "next_step", "status"),
        sharing_field(C),
    ]
    return RecordForm(
        context,
        C,
        fields,
        title="An inquiry cycle",
        intro="A question about your own life that you research: plan something small, do it, "
        "notice what happens, and reflect.",
    )


@form_for(AGENDA_ITEM, side=CLIENT, tab="Review prep", order=40)
def agenda_item_form(context: FormContext) -> RecordForm:
    """Something to raise at the next peer review: satisfaction, dissatisfaction, a request."""
    A = m.AgendaItem
    fields: list[Field] = [
        field_for(A, "item_type", optional=True, none_label="(choose)"),
        *fields_for(A, "text", "raised_on"),
        sharing_field(A),
    ]
    return RecordForm(
        context,
        A,
        fields,
        title="For my next peer review",
        intro="Your own items open the review: what satisfies you, what doesn't, what you want "
        "to ask for. Shared with your practitioner unless you choose otherwise.",
        fixed={"raised_by": "client"},
    )


@form_for(REVIEW_RATING, side=CLIENT, tab="Review prep", order=45)
def review_rating_form(context: FormContext) -> RecordForm:
    """My ratings of the training for a peer review, and my view on continuing."""
    V = m.ReviewRating
    fields: list[Field] = [
        field_for(
            V,
            "review_id",
            ChoiceField,
            options=lambda: entry_choices(context, PEER_REVIEW),
            none_label="(not recorded yet)",
        ),
        field_for(V, "rated_on"),
        GroupField("ratings", "My ratings (0-10)", fields_for(m.Ratings, *m.Ratings.model_fields)),
        field_for(V, "client_view"),
        field_for(V, "note", placeholder="optional"),
        sharing_field(V),
    ]
    return RecordForm(
        context,
        V,
        fields,
        title="My ratings for the peer review",
        intro="How the training is going for you, and whether you want to continue, change, "
        "pause or end. Your own words for the review: your practitioner sees them but does "
        "not write them. Pick the review once your practitioner has recorded it.",
    )


@form_for(CHECK_IN, side=CLIENT, tab="Check-in", order=50)
def check_in_form(context: FormContext) -> RecordForm:
    """PHQ-9, GAD-7 or our wellbeing items; the score and band are shown after saving."""
    instrument = field_for(
        m.CheckIn,
        "instrument",
        options=[(spec.name, key) for key, spec in scoring.INSTRUMENTS.items()],
        default="phq9",
    )
    assert isinstance(instrument, ChoiceField)
    answers = AnswersField(instrument)
    result = CheckInResult()
    fields: list[Field] = [instrument, answers, sharing_field(m.CheckIn)]
    form = RecordForm(
        context,
        m.CheckIn,
        fields,
        title="Check-in",
        intro="A short questionnaire every couple of weeks, so you and your practitioner can "
        "see change over time. PHQ-9 and GAD-7 ask about the last two weeks; the wellbeing "
        "items about this week.",
        after_save=result.show,
    )
    form.widget.children = (*form.widget.children, result.widget)
    form.result = result.widget  # type: ignore[attr-defined]
    return form


@form_for(PERSON, side=CLIENT, tab="People", order=60)
def person_form(context: FormContext) -> RecordForm:
    P = m.Person
    fields: list[Field] = [
        field_for(P, "alias", placeholder="a first name, initial or nickname"),
        *fields_for(P, "relationship", "notes"),
        sharing_field(P),
    ]
    return RecordForm(
        context,
        P,
        fields,
        title="My people",
        intro="The people in your episodes, named as you like. Aliases are fine.",
        check=person_not_twice(context),
    )


@form_for(
    CONSENT,
    side=CLIENT,
    tab="Consent",
    order=70,
    not_in_recent="a ledger: a change of consent is a new entry, never an edit",
)
def consent_form(context: FormContext) -> RecordForm:
    """The principles text, the consent in force, and a new ledger entry."""
    import mistune

    principles = current_principles()
    edition = _edition(principles.version)
    to_html = mistune.create_markdown(escape=True)
    # the principles box scrolls by keyboard too: a named region that takes focus; its
    # headings sit below the form's own (h3)
    body = re.sub(
        r"<(/?)h([1-6])>", lambda h: f"<{h[1]}h{min(int(h[2]) + 3, 6)}>", to_html(principles.text)
    )
    text = W.HTML(
        '<div class="heron-principles-text" role="region" tabindex="0" '
        f'aria-label="The principles of this training ({html.escape(edition)})">{body}</div>'
    )
    text.add_class("heron-principles")
    state = W.HTML("")
    state.add_class("heron-consent-state")

    def show_state(_kind: str = "") -> None:
        consent = context.workbook.consent()
        lines = [html.escape(_consent_words(consent))]
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
        *fields_for(C, "training", "practitioner_sharing", "research"),
        field_for(C, "note", multiline=False, placeholder="optional"),
    ]
    form = RecordForm(
        context,
        C,
        fields,
        title="Principles and consent",
        intro=f"The principles of this training ({edition}). You can change "
        "or withdraw your consent at any time: untick what you no longer agree to and save. "
        "Every change is kept.",
        fixed={"principles_version": principles.version, "sharing": "practitioner"},
        after_save=lambda _s: show_state(),
        save_label="Record my consent",
    )
    children = list(form.widget.children)
    children[2:2] = [text, state]
    form.widget.children = tuple(children)
    context.on_change(lambda kind: show_state() if kind == CONSENT else None)

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


def _edition(version: str) -> str:
    """A principles version as the client reads it (a name and a date, not its id)."""
    return edition_words(version) or "an earlier edition"


def _consent_words(consent: ConsentState) -> str:
    """The consent in force, in the Consent tab's words: as the reports say it, with the
    principles named by their edition."""
    entry = consent.entry
    if entry is None or consent.principles_current:
        return consent.describe()
    return consent.describe().replace(
        f"({entry.principles_version})", f"({_edition(entry.principles_version)})"
    )


@form_for(CO_COUNSELLING_SESSION, side=CLIENT, tab="Co-counselling", order=80)
def co_counselling_form(context: FormContext) -> RecordForm:
    S = m.CoCounsellingSession
    fields: list[Field] = [
        *fields_for(S, "held_on", "peer_alias"),
        field_for(S, "minutes_as_client", default=30),
        field_for(S, "minutes_as_counsellor", default=30),
        *fields_for(S, "contract", "worked_on", "discharge", "re_evaluation"),
        sharing_field(S),
    ]
    return RecordForm(
        context,
        S,
        fields,
        title="Co-counselling session",
        intro="A session with a peer: equal time each way, and the client is in charge.",
    )


# --- the practitioner's forms -----------------------------------------------------------------


@form_for(FOCUS_DECISION, side=PRACTITIONER, tab="Decisions", order=10)
def focus_decision_form(context: FormContext) -> RecordForm:
    D = m.FocusDecision
    decided_by = [
        ("Autonomy: the client decided", "autonomy"),
        ("Co-operation: decided together", "co-operation"),
        ("Hierarchy: the practitioner decided", "hierarchy"),
    ]
    fields: list[Field] = [
        *fields_for(D, "decided_on", "topic", "decision", "proposed_by"),
        field_for(D, "decided_by", options=decided_by, default="co-operation"),
        field_for(D, "notes"),
        sharing_field(D),
    ]
    return RecordForm(
        context,
        D,
        fields,
        title="A decision about the training",
        intro="Every decision about focus, structure, method, frequency, homework or "
        "continuing, with who proposed it and how it was decided.",
    )


@form_for(PEER_REVIEW, side=PRACTITIONER, tab="Peer review", order=21)
def peer_review_form(context: FormContext) -> RecordForm:
    R = m.PeerReview
    fields: list[Field] = [
        *fields_for(R, "held_on", "period_start", "period_end"),
        *fields_for(R, "practitioner_view", "agreed_outcome", "reason"),
        *fields_for(R, "dissent", "next_review_on"),
        sharing_field(R),
    ]
    return RecordForm(
        context,
        R,
        fields,
        title="Peer review",
        intro="The client's agenda comes first. Record your view on continuing, the agreed "
        "outcome and any dissent. The client gives their own ratings and view on continuing "
        "in their workbook.",
    )


def _latest_responses(context: FormContext) -> dict[str, m.AgendaResponse]:
    """Each agenda item's latest response (the last by date, then in the order saved)."""
    latest: dict[str, m.AgendaResponse] = {}
    responses = [s.record for s in context.records(AGENDA_RESPONSE)]
    for response in sorted(responses, key=lambda r: r.responded_on):  # type: ignore[attr-defined]
        latest[response.agenda_item_id] = response  # type: ignore[attr-defined]
    return latest


@form_for(AGENDA_RESPONSE, side=PRACTITIONER, tab="Peer review", order=20)
def agenda_response_form(context: FormContext) -> RecordForm:
    """Respond to an agenda item: pick it, answer it, link the review.

    The item stays the words of whoever raised it (the client's record, which only the
    client edits); each response is the practitioner's own record, seen by whoever may
    see the item.
    """
    A = m.AgendaResponse

    def item_choices() -> list[tuple[str, str]]:
        latest = _latest_responses(context)

        def resolved(item_id: str) -> bool:
            return item_id in latest and latest[item_id].resolved

        items = context.records(AGENDA_ITEM)
        items.sort(key=lambda s: (resolved(s.id), s.record.raised_on))  # type: ignore[attr-defined]
        return [(("✓ " if resolved(s.id) else "") + s.record.describe(), s.id) for s in items]

    picker = field_for(
        A,
        "agenda_item_id",
        ChoiceField,
        label="Item",
        options=item_choices,
        optional=True,
        none_label="(choose an item)",
    )
    picker.widget.layout.width = "40em"
    picker.widget.add_class("heron-agenda-picker")
    raised = W.HTML("")
    raised.add_class("heron-agenda-raised")
    fields: list[Field] = [
        picker,
        *fields_for(A, "responded_on", "response", "resolved"),
        field_for(
            A,
            "review_id",
            ChoiceField,
            options=lambda: entry_choices(context, PEER_REVIEW),
            none_label="(not linked)",
        ),
    ]

    def same_sharing(data: dict[str, Any]) -> dict[str, Any]:
        if data.get("agenda_item_id"):  # the answer goes where the item goes
            data["sharing"] = context.workbook.get_stored(data["agenda_item_id"]).sharing.value
        return data

    form = RecordForm(
        context,
        A,
        fields,
        title="Responses to the client's agenda",
        intro="Pick an item the client raised, write the response, and mark it resolved when "
        "it is. The item stays as the client wrote it; your response is saved beside it.",
        prepare=same_sharing,
        save_label="Save response",
    )

    def show_item(change: dict[str, Any]) -> None:
        item_id = change["new"]
        if not item_id:
            raised.value = ""
            return
        item = context.workbook.get_stored(item_id).record
        said = [
            f"<li>{r.responded_on:%d %b %Y}: {html.escape(r.response) or '(no words)'}"
            f"{' (resolved)' if r.resolved else ''}</li>"
            for r in sorted(
                (s.record for s in context.records(AGENDA_RESPONSE)),
                key=lambda r: r.responded_on,  # type: ignore[attr-defined]
            )
            if r.agenda_item_id == item_id  # type: ignore[attr-defined]
        ]
        earlier = f"<p>Responses so far:</p><ul>{''.join(said)}</ul>" if said else ""
        raised.value = f"<blockquote>{html.escape(item.text)}</blockquote>{earlier}"  # type: ignore[attr-defined]

    picker.widget.observe(show_item, names="value")
    original_new_entry = form.new_entry

    def new_entry() -> None:
        original_new_entry()
        form.save_button.description = "Save response"

    form.new_entry = new_entry  # type: ignore[method-assign]
    # the form refreshes its fields when other kinds change; the ✓ marks follow its own too
    context.on_change(lambda kind: picker.refresh() if kind == AGENDA_RESPONSE else None)
    children = list(form.widget.children)
    children.insert(children.index(picker.box) + 1, raised)
    form.widget.children = tuple(children)
    return form


@form_for(PRACTITIONER_REACTION, side=PRACTITIONER, tab="My reactions", order=30)
def practitioner_reaction_form(context: FormContext) -> RecordForm:
    P = m.PractitionerReaction
    fields = fields_for(P, "noted_on", "reaction", "possible_source", "how_addressed")
    return RecordForm(
        context,
        P,
        fields,
        title="My reactions to the client",
        intro="Practitioner-to-client transference, addressed openly: the client always sees "
        "these notes.",
        fixed={"sharing": "practitioner"},
    )


@form_for(INTERVENTION, side=PRACTITIONER, tab="Interventions", order=40)
def intervention_form(context: FormContext) -> RecordForm:
    I = m.Intervention  # noqa: E741
    cats = [(f"{k.capitalize()}: {v.description}", k) for k, v in interventions().items()]
    fields: list[Field] = [
        *fields_for(I, "session_on", "description"),
        field_for(I, "intended", options=cats),
        field_for(I, "perceived", options=cats),
        sharing_field(I),
    ]
    return RecordForm(
        context,
        I,
        fields,
        title="Interventions (six categories)",
        intro="Tag an intervention as intended, and as the client perceived it.",
    )
