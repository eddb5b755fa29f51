"""nnsurrogate: neural-network surrogates for expensive physics.

Pillars sit on a shared ``core``: ``tabular`` (tables → properties), ``pde`` (PDEs → fields),
``atomistic`` (atoms → energies and forces), ``gas2d`` (the 2D-gas force CNN), ``crystal`` (crystal
graphs), ``symbolic`` (formulas); ``recipes`` combine them and ``cli`` is the command line.
Importing the package is cheap: a pillar is imported when it is first used
(``nnsurrogate.atomistic`` or ``from nnsurrogate import atomistic``).
"""

import importlib

__version__ = "0.1.0"

#: The pillars, imported on first use.
PILLARS = ("tabular", "pde", "atomistic", "gas2d", "crystal", "symbolic", "recipes")

__all__ = ["PILLARS", "__version__", *PILLARS]


def __getattr__(name: str):
    if name in PILLARS:
        return importlib.import_module(f"nnsurrogate.{name}")
    raise AttributeError(f"module 'nnsurrogate' has no attribute {name!r}")
