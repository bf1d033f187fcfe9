"""How much memory a training run will hold, estimated before anything is allocated.

A run holds, besides its data: the one-hot targets (examples × classes), the weights with their
gradients, the optimizer's state (one array per weight for momentum, two for Adam) and a scratch
copy, and one mini-batch's worth of every layer's arrays (z, a, their gradients, dropout masks,
augmented images). A request can name sizes that multiply into gigabytes: a batch of 65,536
through four layers of 2,048 units is about 8 GB of activations. `check_training_memory` refuses
such a run in one line, naming the settings to change, before the first array is made.
"""

from mnist_nn.config import TrainConfig
from mnist_nn.errors import UserError, named
from mnist_nn.nn.network import EVALUATION_BATCH, IMAGE_BATCH
from mnist_nn.nn.stack import plan_network, size

OPTIMIZER_SLOTS = {"sgd": 0, "momentum": 1, "nesterov": 1, "adam": 2}  # state arrays per weight
ARRAYS_PER_UNIT = 6  # per example and unit in a batch: z, a, dz, dx, a dropout mask, spare


def training_bytes(config: TrainConfig, examples: int, features: int, classes: int) -> int:
    """Bytes a run of `config` on `examples` × `features` data will hold besides the data."""
    item = 4 if config.dtype == "float32" else 8
    plan = plan_network(features, classes, config.hidden_sizes, config.layers)
    weights = sum(layer.parameters for layer in plan)
    if config.layers:  # image layers: z and the activation of each, and one example's patches
        outputs, repeats = 0, 1
        for layer in plan:
            if layer.kind in ("flatten", "columns"):  # views and copies of the maps before
                repeats = layer.input_shape[2] if layer.kind == "columns" else 1
                continue
            # after columns, each layer's shape is one column's: a line has `repeats` of them
            outputs += (1 if layer.kind == "pool" else 2) * size(layer.output_shape) * repeats
        patches = max(
            (layer.weight_shape[0] * size(layer.output_shape[1:]) for layer in plan
             if layer.kind == "conv"),
            default=0,
        )  # fmt: skip
        units = features + outputs + 2 * patches
    else:
        units = features + sum(size(layer.output_shape) for layer in plan)
    # weights, gradients, optimizer state, a scratch array per weight
    parameters = weights * (3 + OPTIMIZER_SLOTS.get(config.optimizer, 2)) * item
    evaluation = IMAGE_BATCH if config.layers else EVALUATION_BATCH  # see Network.scores
    batch = max(min(config.batch_size, examples), min(evaluation, examples))
    activations = batch * units * ARRAYS_PER_UNIT * item
    augmented = batch * features * 4 * item  # the warped copies of a batch's images
    targets = examples * classes * item  # one-hot
    return parameters + activations + augmented + targets


def available_bytes() -> int | None:
    """Memory this machine can still give (MemAvailable), or None where it cannot be read."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def check_training_memory(config, examples, features, classes, budget=None, where="") -> None:
    """A UserError if the run would need more than `budget` bytes (default: what this machine
    has available); `where` names whose budget it is ("this server's")."""
    if budget is None:
        budget, where = available_bytes(), where or "this machine's available memory"
    if budget is None:
        return
    needed = training_bytes(config, examples, features, classes)
    if needed > budget:
        raise UserError(
            f"this run would need about {gigabytes(needed)} of memory for its weights and a "
            f"batch's arrays, over {where or 'the budget'} ({gigabytes(budget)}); choose a "
            f"smaller {named('batch_size')} or fewer, smaller {named('hidden_sizes')}"
        )


def gigabytes(count: int) -> str:
    return f"{count / 2**30:.1f} GB" if count >= 2**30 else f"{count / 2**20:.0f} MB"
