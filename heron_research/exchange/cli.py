"""The ``keys``, ``share`` and ``receive`` commands (on the main ``heron-research`` group).

Each parses its options and makes one library call; errors a user can cause are
:class:`~heron_research.errors.HeronError` or click usage errors, which ``cli.main`` prints
as one line with exit code 1.
"""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["keys", "receive", "share"]

_PATH = click.Path(path_type=Path, dir_okay=False)


@click.group()
def keys() -> None:
    """Age keys for share bundles: yours opens what is shared with you."""


@keys.command(name="new")
@click.option("--out", required=True, type=_PATH, help="The new key file (never overwritten).")
def keys_new(out: Path) -> None:
    """Make a new key in FILE (readable only by you) and print its public recipient."""
    from heron_research.exchange.keys import new_identity

    public = new_identity(out)
    click.echo(public)
    click.echo(
        f"Your key is in {out} (only you can read it; keep a backup). Give the line above, your "
        "public recipient, to whoever shares with you.",
        err=True,
    )


@click.command()
@click.argument("workbook", type=_PATH)
@click.option(
    "--to",
    "audience",
    required=True,
    type=click.Choice(["practitioner", "research", "client"]),
    help="practitioner: what you share with them; research: entries shared for research; "
    "client: from a practice workbook, the entries you wrote, for your client.",
)
@click.option("--recipient", metavar="AGE1...", help="Their public key (remembered).")
@click.option("--identity", type=_PATH, help="Your own key file (remembered).")
@click.option("--out", type=_PATH, help="The bundle file to write.")
@click.option("--dry-run", is_flag=True, help="Show what would go and what stays; write nothing.")
@click.option(
    "--free-text",
    type=click.Choice(["none", "scrubbed"]),
    help="Research bundles: leave free text out (none, the default) or scrub it here.",
)
@click.option("--force", is_flag=True, help="Replace the bundle file if it exists.")
def share(
    workbook: Path,
    audience: str,
    recipient: str | None,
    identity: Path | None,
    out: Path | None,
    dry_run: bool,
    free_text: str | None,
    force: bool,
) -> None:
    """Write an encrypted bundle of what WORKBOOK shares with your practitioner or a study.

    It holds the entries they may see under the consent in force (current versions only),
    the people those entries name (if shared), the consent and where it comes from. It
    opens with their key and with yours. --dry-run shows it all first.
    """
    from heron_research.exchange.share import preview_share
    from heron_research.exchange.share import share as write_bundle
    from heron_research.workbook import Workbook
    from heron_research.workbook.snapshot import read_quietly

    if free_text is not None and audience != "research":
        raise click.UsageError("--free-text applies to --to research only")
    mode = free_text or ("none" if audience == "research" else None)
    if dry_run:
        preview = read_quietly(  # nothing is left beside the workbook
            workbook,
            lambda wb: preview_share(wb, audience, free_text=mode),  # type: ignore[arg-type]
        )
        for line in preview.lines():
            click.echo(line)
        click.echo("Nothing was written (--dry-run).")
        return
    if out is None:
        raise click.UsageError("give --out FILE for the bundle (or --dry-run to look first)")
    with Workbook.open(workbook) as wb:
        result = write_bundle(
            wb,
            audience,
            out,
            recipient=recipient,
            identity=identity,
            free_text=mode,  # type: ignore[arg-type]
            replace=force,
        )
    for line in result.lines():
        click.echo(line)


@click.command()
@click.argument("bundle", metavar="FILE", type=_PATH)
@click.option(
    "--into",
    required=True,
    type=_PATH,
    help="The workbook to take it into (a client's bundle: your practice workbook for them, "
    "made if the path does not exist).",
)
@click.option("--identity", type=_PATH, help="Your own key file (remembered).")
def receive(bundle: Path, into: Path, identity: Path | None) -> None:
    """Take in a bundle shared with you: a client's, into your practice workbook for them;
    your practitioner's, into your own workbook.

    All or nothing, in one transaction. A bundle not newer than the last one received
    changes nothing; a later one replaces what the sender shared before.
    """
    from heron_research.exchange.receive import receive as take_in

    result = take_in(bundle, into, identity=identity)
    for line in result.lines():
        click.echo(line)
