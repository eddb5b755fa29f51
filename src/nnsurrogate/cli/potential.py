"""``nnsurrogate potential …``: machine-learned interatomic potentials.

The commands live in three modules, each adding its verbs to :data:`app`:
:mod:`~nnsurrogate.cli.potential_fit` (train, test), :mod:`~nnsurrogate.cli.potential_sim`
(md, audit, label, sample) and :mod:`~nnsurrogate.cli.potential_al` (active-learn).
"""

from __future__ import annotations

import typer

from nnsurrogate.cli import potential_al, potential_fit, potential_sim

app = typer.Typer(help="Interatomic potentials: train, test, run MD, audit, label reference data.",
                  no_args_is_help=True)
potential_fit.register(app)
potential_sim.register(app)
potential_al.register(app)
