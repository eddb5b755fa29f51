"""Command line: one module per command group; each parses arguments and calls the library."""
