"""nnsurrogate: neural-network surrogates for expensive physics.

Pillars (``tabular``, ...) sit on a shared ``core``; the command line lives in ``cli``.
Importing the package is cheap: nothing heavy is imported until a submodule is used.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
