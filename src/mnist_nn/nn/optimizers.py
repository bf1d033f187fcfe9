"""Optimizers: how parameters move once backpropagation has given their gradients.

`step(pairs)` takes (parameter, gradient) pairs, always in the same order, and updates every
parameter in place. Shared by all: L2 weight decay and the max-norm constraint, both applied to
weight matrices only (biases are few and free to move). Learning-rate schedules are at the end.
"""

import math

import numpy as np


class Optimizer:
    # The training settings (config.py) this optimizer reads, by their names there: a new
    # optimizer with a setting of its own (RMSprop's ρ) declares it here and in config.py only.
    reads = ("learning_rate", "weight_decay", "max_norm")

    def __init__(self, learning_rate: float, weight_decay: float = 0.0, max_norm: float = 0.0):
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay  # λ of the L2 penalty ½·λ·‖W‖²
        self.max_norm = max_norm  # cap on each unit's incoming-weight norm (0: none)
        self.state: list[list[np.ndarray]] = []  # per parameter, e.g. the momentum's velocity
        self.scratch: dict[int, np.ndarray] = {}  # per parameter, room for lr·g without allocating

    def step(self, pairs) -> None:
        for index, (parameter, gradient) in enumerate(pairs):
            if self.weight_decay and parameter.ndim == 2:
                gradient = gradient + self.weight_decay * parameter  # d/dW of ½·λ·‖W‖² = λ·W
            self.update(index, parameter, gradient)
            if self.max_norm and parameter.ndim == 2:
                limit_column_norms(parameter, self.max_norm)

    def update(self, index: int, parameter: np.ndarray, gradient: np.ndarray) -> None:
        raise NotImplementedError

    def scratch_for(self, index: int, like: np.ndarray) -> np.ndarray:
        """A work array shaped like parameter `index`, kept between steps (no allocation)."""
        scratch = self.scratch.get(index)
        if scratch is None:
            scratch = self.scratch[index] = np.empty_like(like)
        return scratch

    def scaled(self, index: int, gradient: np.ndarray, factor: float) -> np.ndarray:
        """factor·gradient, written into this parameter's work array."""
        return np.multiply(gradient, factor, out=self.scratch_for(index, gradient))

    def _slots(self, index: int, parameter: np.ndarray, count: int) -> list[np.ndarray]:
        """The `count` state arrays of parameter `index`, zeros at first."""
        if index == len(self.state):
            self.state.append([np.zeros_like(parameter) for _ in range(count)])
        return self.state[index]

    def state_dict(self) -> dict:
        """What the optimizer has learned along the way (velocities, moments, step count), as
        named arrays and numbers: enough for `load_state_dict` to continue exactly."""
        slots = {
            f"slot.{i}.{j}": slot
            for i, arrays in enumerate(self.state)
            for j, slot in enumerate(arrays)
        }
        return {"slots_per_parameter": [len(arrays) for arrays in self.state], **slots}

    def load_state_dict(self, state: dict) -> None:
        counts = state["slots_per_parameter"]
        self.state = [
            [np.array(state[f"slot.{i}.{j}"]) for j in range(count)]
            for i, count in enumerate(counts)
        ]

    def __repr__(self) -> str:
        extras = "".join(
            f", {name}={getattr(self, name)}"
            for name in ("weight_decay", "max_norm")
            if getattr(self, name)
        )
        return f"{type(self).__name__}(learning_rate={self.learning_rate}{extras})"


def limit_column_norms(weight: np.ndarray, max_norm: float) -> None:
    """Scale down each column of W (I, O), i.e. one unit's incoming weights, to norm ≤ max_norm."""
    norms = np.sqrt(np.einsum("io,io->o", weight, weight))  # (O,)
    weight *= np.minimum(1.0, max_norm / np.maximum(norms, 1e-12)).astype(weight.dtype)


class SGD(Optimizer):
    """Plain (mini-batch) gradient descent, the seed's update: θ ← θ − lr·dL/dθ.

    With the seed's sign convention (dW = a1ᵀ·dz2 where dz2 uses error = y − a2) this is the
    design's W += lr·dW, written the usual way round.
    """

    def update(self, index, parameter, gradient):
        parameter -= self.scaled(index, gradient, self.learning_rate)  # θ −= lr·g


class Momentum(Optimizer):
    """Gradient descent with momentum: a velocity v that remembers past steps.

    v ← μ·v − lr·g, then θ ← θ + v (classical), or θ ← θ + μ·v − lr·g (Nesterov: the step is
    taken from where the velocity is about to carry θ). Steps add up along directions the gradient
    keeps pointing to, and cancel across ravines where it flips.
    """

    reads = (*Optimizer.reads, "momentum")

    def __init__(self, learning_rate, momentum=0.9, nesterov=False, **shared):
        super().__init__(learning_rate, **shared)
        self.momentum = momentum
        self.nesterov = nesterov

    def update(self, index, parameter, gradient):
        (velocity,) = self._slots(index, parameter, 1)
        step = self.scaled(index, gradient, self.learning_rate)  # lr·g
        velocity *= self.momentum
        velocity -= step  # v = μ·v − lr·g
        if self.nesterov:
            parameter -= step
            parameter += self.momentum * velocity  # θ += μ·v − lr·g
        else:
            parameter += velocity  # θ += v


class Adam(Optimizer):
    """Adam (Kingma & Ba): momentum (m, the mean of g) scaled per parameter by the root of the
    mean of g² (v), so every weight moves by about lr whatever its gradient's size.

    m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²;  θ ← θ − lr·m̂ / (√v̂ + ε),
    where m̂, v̂ undo the bias of starting m and v at zero.
    """

    def __init__(self, learning_rate, beta1=0.9, beta2=0.999, epsilon=1e-8, **shared):
        super().__init__(learning_rate, **shared)
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon
        self.steps = 0

    def step(self, pairs) -> None:
        self.steps += 1
        super().step(pairs)

    def state_dict(self) -> dict:
        return {**super().state_dict(), "steps": self.steps}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.steps = int(state["steps"])

    def update(self, index, parameter, gradient):
        mean, mean_square = self._slots(index, parameter, 2)
        mean *= self.beta1
        mean += self.scaled(index, gradient, 1 - self.beta1)  # m = β1·m + (1 − β1)·g
        mean_square *= self.beta2
        square = self.scaled(index, gradient, 1 - self.beta2)
        square *= gradient
        mean_square += square  # v = β2·v + (1 − β2)·g²
        # m̂/(√v̂ + ε) with the bias corrections folded into the step size (the paper's §2 form).
        correction1 = 1 - self.beta1**self.steps
        correction2 = 1 - self.beta2**self.steps
        step = np.sqrt(mean_square, out=self.scratch_for(index, gradient))
        step += self.epsilon * math.sqrt(correction2)
        np.divide(mean, step, out=step)
        step *= self.learning_rate * math.sqrt(correction2) / correction1
        parameter -= step  # θ −= lr_t·m / (√v + ε̂)


class Nesterov(Momentum):
    """Momentum with Nesterov's look-ahead step (see `Momentum`)."""

    def __init__(self, learning_rate, momentum=0.9, **shared):
        super().__init__(learning_rate, momentum, nesterov=True, **shared)


# The optimizers by name: `--optimizer`'s choices come from this table.
OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "nesterov": Nesterov, "adam": Adam}


def make_optimizer(name: str, learning_rate: float, **settings) -> Optimizer:
    """An optimizer by name, given training settings; it takes those it `reads` and leaves the
    rest, e.g. make_optimizer("momentum", 0.001, momentum=0.9, dropout=0.2)."""
    kind = OPTIMIZERS[name]
    return kind(learning_rate, **{key: settings[key] for key in kind.reads if key in settings})


# Learning-rate schedules: the factor on the base rate at `progress`, the fraction of training done
# (`--lr-schedule`'s choices come from this table).
SCHEDULES = {
    "constant": lambda progress: 1.0,
    # ÷10 at half and again at three quarters of the run.
    "step": lambda progress: 0.1 ** ((progress >= 0.5) + (progress >= 0.75)),
    # From 1 down to 0 along half a cosine: large steps first, fine ones at the end.
    "cosine": lambda progress: 0.5 * (1 + math.cos(math.pi * progress)),
    # One cycle (Smith & Topin 2019): up from 1/25 to 1 over the first 30% of the run (large
    # steps are safe once the weights have settled a little), then down to 0 along a cosine.
    "onecycle": lambda progress: (
        1 / 25 + (1 - 1 / 25) * progress / 0.3
        if progress < 0.3
        else 0.5 * (1 + math.cos(math.pi * (progress - 0.3) / 0.7))
    ),
}
