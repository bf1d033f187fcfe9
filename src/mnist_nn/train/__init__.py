"""The training loop (`train.loop.Trainer`), the callbacks that watch and steer it, checkpoints,
advice for a run that stops learning, and memory estimates made before anything is allocated.

May import: `errors`, `config`, `presets`, `nn`, `data`, `saving`, `evaluate`.
"""
