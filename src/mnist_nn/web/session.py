"""Training from the web page: one run at a time, in a background thread, watched live.

The run is the library's `Trainer` driven through its callbacks: `RunControl` takes the page's
buttons (pause, resume, step, stop, learning rate, momentum) and `LiveView` gathers what the page
shows (loss and accuracy every few mini-batches, gradient norms, the first layer's weights, the
held-out confusion matrix after each epoch). No part of the training loop is copied here.
"""

import base64
import threading
import time

import numpy as np

from mnist_nn.config import TrainConfig, check, setting_value, settings, with_settings
from mnist_nn.errors import UserError, shown
from mnist_nn.evaluate.metrics import confusion_matrix
from mnist_nn.nn.network import Network, build_network
from mnist_nn.presets import PRESETS
from mnist_nn.saving.model_files import run_record, statistics
from mnist_nn.train.callbacks import Callback, RunControl
from mnist_nn.train.loop import Trainer

POINTS_PER_EPOCH = 100  # loss/accuracy points per epoch on the page's curve, at most
WEIGHT_UNITS = 16  # first-layer units whose weights the page draws
WEIGHT_SECONDS = 0.5  # how often those weights are sampled while training
WEB_SETTINGS = settings("web")
LIVE_SETTINGS = tuple(name for name, option in WEB_SETTINGS.items() if option.metadata["live"])


def config_from_settings(payload) -> tuple[str, TrainConfig]:
    """The preset named in `payload` (default seed) with the other settings laid over it,
    checked against the settings' limits with the web's caps (config.py declares both, for
    anyone who can reach the page can send a request); a UserError says what is wrong."""
    if not isinstance(payload, dict):
        raise UserError('send the settings as a JSON object, e.g. {"preset": "quick"}')
    preset = payload.get("preset", "seed")
    if not isinstance(preset, str) or preset not in PRESETS:
        raise UserError(f"preset {shown(preset)} is not one of {', '.join(PRESETS)}")
    given = {key: value for key, value in payload.items() if key != "preset"}
    unknown = sorted(set(given) - set(WEB_SETTINGS))
    if unknown:
        raise UserError(
            f"unknown setting {shown(unknown[0])} (settings: {', '.join(WEB_SETTINGS)})"
        )
    if not isinstance(given.get("hidden_sizes", []), list):
        raise UserError("hidden_sizes: a list of layer sizes, e.g. [256] or [512, 256]")
    return preset, with_settings(PRESETS[preset], given, front_end="web")


def inference_twin(network: Network) -> Network:
    """A network that reads the same weight arrays as `network` (so it sees every update) but
    has layers of its own: it can answer the drawing pad while the other one trains."""
    architecture = network.architecture
    twin = build_network(
        architecture["sizes"],
        np.random.default_rng(0),
        str(network.dtype),
        activation=architecture["activation"],
        loss=architecture["loss"],
        layers=architecture.get("layers", ""),
    )
    for mine, theirs in zip(twin.weighted_layers(), network.weighted_layers(), strict=True):
        mine.weight, mine.bias = theirs.weight, theirs.bias
        for name, kept in statistics(theirs).items():  # batch norm's, updated in place
            setattr(mine, name, kept)
    return twin


def weight_images(weight: np.ndarray, units: int = WEIGHT_UNITS) -> str:
    """The first `units` columns of W1 (784, H), each scaled to its own largest |w| and stored as
    bytes 0..255 (128 is zero), base64: small enough to send every half second."""
    columns = weight[:, :units].T  # (units, 784)
    limit = np.maximum(np.abs(columns).max(axis=1, keepdims=True), 1e-12)
    image_bytes = np.round(127.5 + 127.5 * columns / limit).astype(np.uint8).tobytes()
    return base64.b64encode(image_bytes).decode()


class LiveView(Callback):
    """What the page shows of a run, gathered as it goes, cheaply (a few array reductions every
    few mini-batches)."""

    def __init__(self):
        self.points = []  # {"batch", "epoch", "loss", "accuracy", "learning_rate", ...}
        self.gradient_norms = []  # per layer with weights, at the last point
        self.confusion = None  # held-out, after the last epoch
        self.weights, self.weights_version, self.weights_side = None, 0, 28
        self.epoch_version = 0
        self.examples_per_second, self.batches_per_epoch = 0.0, 1
        self._pending = []  # (loss, accuracy) of the mini-batches since the last point
        self._last_weights = 0.0

    def on_train_begin(self, trainer):
        self.batches_per_epoch = trainer.batches_per_epoch
        self.every = max(1, self.batches_per_epoch // POINTS_PER_EPOCH)
        self._sample_weights(trainer)

    def on_batch_end(self, trainer, batch):
        # Throughput from the loop's own clock, which leaves out callbacks and pauses.
        speed = batch["size"] / max(batch["seconds"], 1e-9)
        self.examples_per_second = 0.9 * self.examples_per_second + 0.1 * speed
        self._pending.append((batch["loss"], batch["accuracy"]))
        if len(self._pending) >= self.every:
            loss, accuracy = np.mean(self._pending, axis=0)  # smoothed over the last few batches
            state = trainer.state
            self.gradient_norms = [
                float(np.linalg.norm(layer.dweight)) for layer in trainer.network.weighted_layers()
            ]
            self.points.append({
                "batch": state.batches_done,
                "epoch": state.epoch - 1 + state.batch_start / len(trainer.dataset.train),
                "loss": float(loss),
                "accuracy": float(accuracy),
                "learning_rate": trainer.optimizer.learning_rate,
                "gradient_norms": self.gradient_norms,
            })  # fmt: skip
            self._pending = []
        if time.perf_counter() - self._last_weights > WEIGHT_SECONDS:
            self._sample_weights(trainer)

    def on_epoch_end(self, trainer, record):
        dataset = trainer.dataset
        held_out = dataset.validation if dataset.validation is not None else dataset.test
        if held_out is not None:
            predicted = trainer.held_out_predicted  # the loop's own pass over held_out
            self.confusion = confusion_matrix(held_out.labels, predicted, dataset.classes).tolist()
        self._sample_weights(trainer)
        self.epoch_version += 1

    def _sample_weights(self, trainer):
        first = trainer.network.weighted_layers()[0].weight  # (784, H), or (k·k, F) filters
        self.weights_side = round(first.shape[0] ** 0.5)
        self.weights = weight_images(first)
        self.weights_version += 1
        self._last_weights = time.perf_counter()


class Run:
    """One training run started from the page: its thread, its controls, what it has shown."""

    def __init__(self, preset: str, config: TrainConfig, dataset, memory_budget=None):
        self.preset, self.config, self.dataset = preset, config, dataset
        self.control, self.live = RunControl(), LiveView()
        inputs, where = (
            dataset.train.images.shape[1],
            "this server's memory budget (serve --memory-budget)",
        )
        callbacks = [self.control, self.live]
        self.trainer = Trainer(config, inputs, dataset.classes, callbacks, memory_budget, where)
        self.trainer.check_memory(
            dataset
        )  # in the request: over the budget is a 400, not a failed run
        self.twin = inference_twin(self.trainer.network)
        self.result, self.error, self.record = None, None, None
        self.started = self.ended = None  # time.perf_counter() at the start and end of training
        self.id = time.time_ns()  # tells this run's summaries from another's
        self.updates = 0  # summaries given so far: a page keeps the newest
        self.thread = threading.Thread(target=self._train, daemon=True)

    def _train(self) -> None:
        self.started = time.perf_counter()
        try:
            self.result = self.trainer.fit(self.dataset)
            # What "use" and the download give: calibrated once, here, off the event loop.
            self.record = run_record(self.result, self.config, self.dataset, self.preset)
        except UserError as error:  # e.g. the loss became NaN: say so on the page
            self.error = str(error)
        except Exception as error:  # noqa: BLE001 - a bug: the page says so instead of hanging
            self.error = f"training failed: {type(error).__name__}"
        finally:
            self.ended = time.perf_counter()
            release_working_memory(self.trainer)

    @property
    def state(self) -> str:
        if self.thread.is_alive():
            return "paused" if self.control.waiting else "running"
        if self.error is not None:
            return "failed"
        return "stopped" if self.result is not None and self.result.stopped else "finished"

    @property
    def active(self) -> bool:
        return self.thread.is_alive()

    def summary(self) -> dict:
        """Where the run is: small enough to send five times a second."""
        state, trainer, live = self.state, self.trainer, self.live
        done_batches = trainer.state.batches_done
        total_batches = live.batches_per_epoch * self.config.epochs
        speed = live.examples_per_second / self.config.batch_size  # batches per second
        pending = dict(self.control.changes)
        left = (total_batches - done_batches) / speed if speed and self.active else None
        self.updates += 1
        return {
            "run_id": self.id,
            "updates": self.updates,
            "state": state,
            "preset": self.preset,
            "epoch": min(trainer.state.epoch, self.config.epochs),
            "epochs": self.config.epochs,
            "batch": done_batches,
            "batches_per_epoch": live.batches_per_epoch,
            "images_per_second": round(live.examples_per_second, 1),
            "seconds_left": None if left is None else round(left, 1),
            "elapsed_seconds": self.elapsed(),
            # A change sent while paused shows at once, though it applies at the next step.
            "learning_rate": pending.get("learning_rate", trainer.learning_rate),
            "momentum": pending.get("momentum", getattr(trainer.optimizer, "momentum", None)),
            "gradient_norms": live.gradient_norms,
            "test_accuracy": None if self.result is None else self.result.test_accuracy,
            "error": self.error,
        }

    def elapsed(self) -> float:
        """Wall-clock seconds of training so far (pauses included)."""
        if self.started is None:
            return 0.0
        return round((self.ended or time.perf_counter()) - self.started, 3)

    def settings(self) -> dict:
        return {"preset": self.preset, **self.config.to_dict(), "dataset": self.dataset.name}


def release_working_memory(trainer: Trainer) -> None:
    """After a run: free what only training needed (each layer's batch arrays, the optimizer's
    state, the data), keeping the weights that the page may still use or download."""
    network = trainer.network
    for part in [*network.layers, network.loss]:
        buffers = getattr(part, "buffers", None)
        if buffers is not None:
            buffers.arrays.clear()
    trainer.optimizer.state, trainer.optimizer.scratch = [], {}
    trainer.state.best_weights = None
    trainer.dataset = None


class TrainingSession:
    """The server's one training run at a time (409 for a second), and the data it trains on."""

    def __init__(self, load_dataset, memory_budget: int | None = None):
        self.load_dataset = load_dataset  # (val_size, dtype) -> Dataset, cached by the caller
        self.memory_budget = memory_budget  # bytes a run may hold besides the data
        self.lock = threading.Lock()
        self.run: Run | None = None

    def start(self, payload) -> Run:
        preset, config = config_from_settings(payload)
        with self.lock:
            if self.run is not None and self.run.active:
                raise RunConflict("a training run is already going: stop it first")
            dataset = self.load_dataset(config.val_size, config.dtype)
            run = Run(preset, config, dataset, self.memory_budget)  # a refused one loses nothing
            self.run = run
            self.run.thread.start()
            return self.run

    def current(self, active: bool = False) -> Run:
        """The current run (with `active`, one still training); else a RunConflict."""
        run = self.run
        if run is None:
            raise RunConflict("no training run yet: start one first")
        if active and not run.active:
            raise RunConflict(f"the training run has ended ({run.state})")
        return run

    def change(self, payload) -> Run:
        run = self.current(active=True)
        live = " and/or ".join(f'{{"{name}": ...}}' for name in LIVE_SETTINGS)
        if not isinstance(payload, dict) or not set(payload) & set(LIVE_SETTINGS):
            raise UserError(f"send {live}")
        unknown = set(payload) - set(LIVE_SETTINGS)
        if unknown:
            raise UserError(
                f"only {' and '.join(LIVE_SETTINGS)} change mid-run, not {unknown.pop()}"
            )
        changes = {name: setting_value(name, value) for name, value in payload.items()}
        for name, value in changes.items():
            problem = check(WEB_SETTINGS[name], value, "web")
            if problem:
                raise UserError(f"{name}: {problem}")
        run.control.change(**changes)
        return run

    def finished(self) -> Run:
        """The run whose model can be used or downloaded: ended, with its test accuracy."""
        run = self.current()
        if run.active or run.result is None:
            raise RunConflict("the model is ready when the run has finished or been stopped")
        return run


class RunConflict(UserError):
    """A request that does not fit the run's state (409): one at a time, nothing to pause..."""
