"""Model files (.npz arrays with JSON metadata, never pickle) and writing files so that a crash
leaves either the old file or the new one, never half of one.

May import: `errors`, `config`, `nn`, `evaluate` (a model file keeps its calibration).
"""
