"""Exchange between people without handing over the workbook: keys and share bundles.

* :mod:`~heron_research.exchange.keys`: age X25519 identities and recipients;
* :mod:`~heron_research.exchange.bundle`: the bundle's inner document (JSON Schema published
  as ``schema/bundle.schema.json``), built from a workbook, encrypted and opened;
* :mod:`~heron_research.exchange.share`: what ``heron-research share`` does (preview,
  remembered recipients, writing the bundle);
* :mod:`~heron_research.exchange.cli`: the ``keys`` and ``share`` commands.

Nothing is imported here, so that ``heron-research --help`` (which loads the commands) stays
light; import the names from their modules.
"""

from __future__ import annotations

__all__: list[str] = []
