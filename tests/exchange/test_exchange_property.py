"""Property: for generated sharing levels and consent ledgers, a bundle holds exactly what
its audience may see, and no word of a private entry or an earlier private version."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import CLOCK_START, StepClock, consent_entry, episode_data

from heron_research.exchange.bundle import build_bundle, parse_document
from heron_research.records import EmotionEpisode, Sharing, validate_record
from heron_research.visibility import Audience, visible_levels
from heron_research.workbook import Workbook

pytestmark = pytest.mark.unit

levels = st.sampled_from(list(Sharing))
ledgers = st.lists(st.tuples(st.booleans(), st.booleans()), min_size=0, max_size=3)
entries = st.lists(st.tuples(levels, st.one_of(st.none(), levels)), min_size=1, max_size=6)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ledger=ledgers, plan=entries)
def test_bundles_hold_exactly_the_visible_entries(
    ledger: list[tuple[bool, bool]], plan: list[tuple[Sharing, Sharing | None]]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        wb = Workbook.create(Path(tmp) / "c.heron", clock=StepClock())
        try:
            for i, (practitioner, research) in enumerate(ledger):
                at = CLOCK_START - timedelta(days=30 - i)
                wb.save(consent_entry(at, practitioner_sharing=practitioner, research=research))
            secrets: dict[str, list[str]] = {}
            final: dict[str, Sharing] = {}
            for i, (first, then) in enumerate(plan):
                word = f"Canary{i}first"
                rec = validate_record(
                    EmotionEpisode, episode_data(situation=word, sharing=first.value, people=[])
                )
                wb.save(rec)
                secrets[rec.id] = [word] if first is Sharing.PRIVATE else []
                final[rec.id] = first
                if then is not None:
                    later = f"Canary{i}then"
                    wb.save(rec.model_copy(update={"situation": later, "sharing": then}))
                    if then is Sharing.PRIVATE:
                        secrets[rec.id].append(later)
                    final[rec.id] = then
            state = wb.consent()
            for audience in (Audience.PRACTITIONER, Audience.RESEARCH):
                plaintext = build_bundle(wb, audience, sequence=1).to_bytes()
                doc = parse_document(plaintext)
                allowed = visible_levels(audience, state)
                expected = {rid for rid, level in final.items() if level in allowed}
                assert {r.id for r in doc.records if r.kind == EmotionEpisode.kind} == expected
                for rid, words in secrets.items():
                    for word in words:
                        assert word.encode() not in plaintext
                    if rid not in expected:
                        assert rid.encode() not in plaintext
        finally:
            wb.close()
