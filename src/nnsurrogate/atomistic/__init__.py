"""Atoms → energies and forces: machine-learned interatomic potentials, MD, audit, reference labelers."""
