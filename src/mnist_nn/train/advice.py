"""What to change when a run fails: one concrete change, worked out from the run's own settings.

A run fails in one of three ways, each caught by the loop and stopped with one line that says what
happened, the settings that did it, and a change that works (never a setting already so):

- it **diverges**: the loss becomes inf or NaN (`Trainer.check`);
- it **saturates**: accuracy at chance and the loss flat, because every sigmoid output sits at 0
  where σ' ≈ 0 (`Saturation`, in callbacks.py);
- it **blows up**: accuracy at chance and the loss rising, steps overshooting further each time.

All three are usually one cause: steps too large. A step is lr × a gradient *summed* over the batch
and, at the output, over every hidden unit feeding it; so the rate that works shrinks as the batch
and the widest layer grow (docs/lab-notes.md lists rates measured to learn). The seed learns at
lr 0.01 with batches of 128 and 128 hidden units; a momentum velocity adds up about 1/(1 − μ)
steps; Adam's step is about lr per weight, whatever the batch.

When the rate was already that small, the advice is the loss: cross-entropy's gradient p − y does
not vanish when the outputs saturate, as MSE's (a2 − y)·σ'(z2) does.
"""

import math

from mnist_nn.config import TrainConfig
from mnist_nn.errors import named
from mnist_nn.nn.stack import plan_network

SEED_BATCH, SEED_WIDTH, SEED_RATE = 128, 128, 0.01  # the design's, which learns


def safe_learning_rate(config: TrainConfig) -> float:
    """A learning rate that learns with these settings (docs/lab-notes.md measures them): the
    seed's 0.01 scaled down for larger batches and wider layers, and for momentum's velocity."""
    if config.optimizer == "adam":
        return 0.001  # Adam's steps do not grow with the batch or the width
    rate = SEED_RATE * min(1.0, SEED_BATCH / config.batch_size)
    rate *= min(1.0, SEED_WIDTH / widest(config))
    if config.optimizer in ("momentum", "nesterov"):
        rate *= 1 - config.momentum
    return round_down(rate)


def round_down(rate: float) -> float:
    """The largest of 1, 2 or 5 × a power of ten that is at most `rate`: 0.0078 → 0.005."""
    power = 10.0 ** math.floor(math.log10(rate))
    return max(step * power for step in (1, 2, 5) if step * power <= rate * (1 + 1e-9))


def widest(config: TrainConfig) -> int:
    """The most units feeding one output: the widest hidden layer (of --layers when given)."""
    if config.layers:  # its dense layers, or else the flattened maps that feed the output
        plan = plan_network(784, 10, layers=config.layers)
        dense = [layer.output_shape[0] for layer in plan[:-1] if layer.kind == "dense"]
        return max(dense, default=plan[-1].input_shape[0])
    return max(config.hidden_sizes)


def used(config: TrainConfig) -> str:
    """The settings that set a step's size, as they were: what the advice is about."""
    return (
        f"{named('learning_rate', config.learning_rate)} ({config.optimizer}, {config.loss}, "
        f"batches of {config.batch_size}, {widest(config)} hidden units)"
    )


def one_change(config: TrainConfig) -> str:
    """One change that works for a run whose steps were too large: "Try lr=0.002: ..."."""
    safe = safe_learning_rate(config)
    if config.learning_rate > safe:
        if config.optimizer == "adam":
            why = "Adam moves each weight by about the learning rate per step; 0.001 is its usual"
        else:
            why = (
                "a step is the learning rate times a gradient summed over the batch and the "
                f"units, and the seed learns at 0.01 with batches of {SEED_BATCH} and "
                f"{SEED_WIDTH} units"
            )
            if config.optimizer in ("momentum", "nesterov"):
                why += f"; a momentum of {config.momentum} adds up about 1/(1 − μ) steps"
        return f"Try {named('learning_rate', safe)}: {why}"
    if config.loss == "mse":
        return (
            f"Try {named('loss', 'cross_entropy')}: its gradient p − y stays large when the "
            "outputs saturate, where MSE's is multiplied by σ' ≈ 0"
        )
    return f"Try {named('learning_rate', round_down(config.learning_rate / 10))}"
