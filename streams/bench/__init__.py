"""Benchmarks: a public harness (`harness`) and one module per benchmark; each prints figures
against a baseline measured in the same run."""
