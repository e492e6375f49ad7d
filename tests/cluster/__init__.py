"""Helpers for tests/test_cluster.py: a single-node SLURM cluster (local_slurm.py)."""
