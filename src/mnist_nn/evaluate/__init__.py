"""What a trained network does on held-out images: metrics, calibration (a temperature fitted on
held-out images), and the pictures drawn from a run's history. Reads; never trains.

May import: `errors`, `config`, `nn`.
"""
