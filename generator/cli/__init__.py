"""The `gitopsgen` command line: one module per command group, each thin. Heavy modules are
imported inside commands, so --help and completion stay quick."""

from __future__ import annotations

import click

from gitopsgen.cli import analysis, cluster, hydrate, promotion, repository, scaffold
from gitopsgen.cli.common import EXIT_CODES_HELP


@click.group(
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="\b\nShell completion (bash; zsh and fish alike):\n"
    '  eval "$(_GITOPSGEN_COMPLETE=bash_source gitopsgen)"\n\n' + EXIT_CODES_HELP,
)
@click.version_option(package_name="gitopsgen")
def cli() -> None:
    """Render and validate a GitOps repository from one environments spec, and turn deployment
    decisions into reviewed commits."""


for _command in (
    *scaffold.COMMANDS,
    *repository.COMMANDS,
    *promotion.COMMANDS,
    *analysis.COMMANDS,
    *cluster.COMMANDS,
    *hydrate.COMMANDS,
):
    cli.add_command(_command)


def main() -> None:
    cli(prog_name="gitopsgen")
