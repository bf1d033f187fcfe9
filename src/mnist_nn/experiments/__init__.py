"""Many trainings, each through the one training loop: `compare` (the design's extensions side by
side), `sweeps` (grids and random searches on a pool or Dask) and `replicate` (the classic papers).

May import: everything below the front ends but `reading`.
"""
