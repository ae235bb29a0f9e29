"""Helpers for the exchange tests (import with ``from exchange_helpers import ...``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from support import episode_data, one_of_each_kind

from heron_research.exchange.keys import load_identity
from heron_research.records import EmotionEpisode, Person, Sharing, validate_record
from heron_research.workbook import Workbook

#: Words that must never leave the workbook in a practitioner bundle.
CANARY_PRIVATE = "Quokkaprivate"  # a private episode's situation
CANARY_OLD = "Wombatearlier"  # the first (private) version of an episode shared later
CANARY_DELETED = "Numbatdeleted"  # a shared episode that was then deleted
CANARY_PERSON = "Zebulonius"  # a private person's alias (referred to by a shared episode)
SHARED_PERSON = "Marguerite"  # a person shared with the practitioner, referred to
#: A private person the client named in the text of an entry shared for research: the
#: practitioner sees the client's words as written; a study never sees the name.
NAMED_IN_TEXT = "Ottoline"
PRACTITIONER_CANARIES = (CANARY_PRIVATE, CANARY_OLD, CANARY_DELETED, CANARY_PERSON)


@dataclass(frozen=True)
class Keys:
    client: Path
    practitioner: Path
    stranger: Path

    def recipient(self, path: Path) -> str:
        return str(load_identity(path).to_public())


def fill_with_canaries(wb: Workbook) -> dict[str, str]:
    """One record of each kind, plus the canary entries; the ids that matter, by name."""
    wb.save_many(one_of_each_kind())
    hidden = Person(alias=CANARY_PERSON, relationship="partner")  # private (the default)
    shown = Person(alias=SHARED_PERSON, relationship="friend", sharing=Sharing.PRACTITIONER)
    named = Person(alias=NAMED_IN_TEXT, relationship="partner")
    wb.save_many([hidden, shown, named])

    def episode(**changes: object) -> EmotionEpisode:
        return validate_record(EmotionEpisode, episode_data(**{"people": [], **changes}))

    private = episode(situation=f"{CANARY_PRIVATE} at the station", sharing="private")
    later = episode(situation=f"{CANARY_OLD} first words", sharing="private")
    deleted = episode(situation=f"{CANARY_DELETED} was here", sharing="practitioner")
    wb.save_many([private, later, deleted])
    wb.save(later.model_copy(update={"situation": "calmer words", "sharing": Sharing.PRACTITIONER}))
    wb.delete(deleted.id)
    naming = episode(
        situation=f"{NAMED_IN_TEXT} and {SHARED_PERSON} argued at lunch",
        people=[hidden.id, shown.id, named.id],
        sharing="research",
    )
    wb.save(naming)
    return {
        "hidden_person": hidden.id,
        "shown_person": shown.id,
        "named_person": named.id,
        "private": private.id,
        "later": later.id,
        "deleted": deleted.id,
        "naming": naming.id,
    }
