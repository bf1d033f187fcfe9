"""The draw-a-digit web app: a FastAPI server around a model, and the page it serves.

    GET  /                      the page (static HTML/CSS/JS, no build step, works offline)
    POST /api/predict           an image (upload, or raw image bytes), or JSON {"pixels": [784]};
                                ?model=training reads it with the run being trained. Answers
                                the digit (calibrated probabilities, verdict: digit, unsure or
                                not a digit) and, for an image, the number written on it
                                (`number`, and `digits` with their boxes)
    GET  /api/model             the model's metadata: architecture, configuration, metrics
    GET  /api/confusion         the confusion matrix on the model's test set
    GET  /api/examples?true=3&predicted=5   test digits from one cell of that matrix
    GET  /api/presets           the presets and the choices of each setting (the Train panel's)
    POST /api/train             start a run with JSON settings (202; 409 while one is going)
    GET  /api/train             the run: state, epoch, batch, settings, history
    GET  /api/train/events      Server-Sent Events: progress (5 a second), each epoch, weights
    POST /api/train/pause, /resume, /step, /stop;  PATCH /api/train {"learning_rate", "momentum"}
    POST /api/train/use         serve the trained model;  GET /api/train/model.npz  download it

Images get the same MNIST-style framing as `mnist-nn predict` (images.py); JSON pixels are taken
as an image already framed like MNIST (28x28, white ink on black, row by row). Every bad request
gets a 4xx JSON answer {"error": "one line"}; nothing else about the server leaks to the client.
No math lives here: the network, the framing and the evaluation are the library's. This module
holds the routes; `guard` decides who may drive the server, `predictor` makes the page's answers,
`train_routes` and `session` run the Train panel.
"""

import math
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from mnist_nn.errors import UserError
from mnist_nn.reading.reader import Reader
from mnist_nn.web.guard import guard
from mnist_nn.web.predictor import Predictor, read_image_upload, read_json_upload
from mnist_nn.web.session import RunConflict, TrainingSession
from mnist_nn.web.train_routes import Streams, add_training_routes

STATIC = Path(__file__).parent / "static"
EXAMPLES_SHOWN = 12
MEMORY_BUDGET = 2 << 30  # bytes a training run started from the page may hold besides the data


def cached_loader(dataset_name, data_dir):
    """(val_size, dtype) -> the dataset to train on. One copy of the data is kept, of the last
    float type asked for (another float type replaces it); each validation split is a view of
    it, so no request can make the server hold a second copy."""
    from mnist_nn.data.dataset import hold_out, load_dataset

    cache = {}
    lock = threading.Lock()

    def load(val_size: int, dtype: str):
        with lock:
            if cache.get("dtype") != dtype:
                cache.clear()  # free the old copy before loading the new one
                cache.update(dtype=dtype, data=load_dataset(dataset_name, data_dir, dtype, 0))
            data = cache["data"]
        train, validation = hold_out(data.train, val_size, data.name)  # views, not copies
        return replace(data, train=train, validation=validation)

    return load


def create_app(
    model_path=None,
    dataset: str | None = None,
    data_dir=None,
    allowed_hosts=None,
    token=None,
    memory_budget: int | None = MEMORY_BUDGET,
):
    """The app, serving `model_path` (or no model until one is trained on the page), answering
    only for `allowed_hosts` when given (`mnist-nn serve` gives them), and only to requests
    that carry `token` when given (`serve` beyond localhost). A training run may hold at most
    `memory_budget` bytes besides the data (None: what the machine has available)."""
    served = {"predictor": Predictor.from_file(Path(model_path)) if model_path else None}
    session = TrainingSession(cached_loader(dataset, data_dir), memory_budget)
    app = FastAPI(title="mnist-nn", docs_url=None, redoc_url=None, openapi_url=None)

    def predictor() -> Predictor:
        if served["predictor"] is None:
            raise HTTPException(404, "no model yet: train one in the Train panel first")
        return served["predictor"]

    @app.exception_handler(StarletteHTTPException)  # FastAPI's own, and routing's 404 and 405
    async def http_error(request, error):
        # A 503 (too busy) closes its connection: a client that keeps it open and idle must not
        # hold one of the server's connections while it waits to try again.
        headers = {"Connection": "close"} if error.status_code == 503 else None
        return JSONResponse(
            {"error": str(error.detail)}, status_code=error.status_code, headers=headers
        )

    @app.exception_handler(UserError)
    async def user_error(request, error):  # a bad setting (400) or the wrong moment (409)
        status = 409 if isinstance(error, RunConflict) else 400
        return JSONResponse({"error": str(error)}, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request, error):
        first = error.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "query")
        return JSONResponse({"error": f"{where}: {first.get('msg')}"}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(request, error):  # a bug: never show its traceback to the client
        return JSONResponse({"error": "internal error"}, status_code=500)

    @app.get("/", include_in_schema=False)
    async def page():
        return FileResponse(STATIC / "index.html")

    @app.post("/api/predict")
    async def predict(
        request: Request, model: str = Query("served", pattern="^(served|training)$")
    ):
        content_type = request.headers.get("content-type", "").lower()  # media types ignore case
        if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
            form = await request.form()
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                raise HTTPException(400, 'send the image in a form field named "file"')
            data = await upload.read()
            answer = read_image_upload
        else:
            data = await request.body()
            answer = read_json_upload if "json" in content_type else read_image_upload
        if not data:
            raise HTTPException(400, "the request has no body: send an image or JSON pixels")
        # ?model=training: the drawing pad while a run trains reads with its weights as they are
        # now (not calibrated yet: temperature 1).
        training = model == "training"
        reader = Reader(session.current().twin) if training else predictor().reader
        return await run_in_threadpool(answer, data, reader)

    @app.get("/api/model")
    async def model():
        metadata = predictor().metadata
        accuracy = metadata.get("test_accuracy")
        return {
            "architecture": metadata["architecture"],
            "layers": metadata.get("layers"),
            "dtype": metadata["dtype"],
            "dataset": metadata.get("dataset"),
            "config": metadata.get("config"),
            "test_accuracy": None if accuracy is None or math.isnan(accuracy) else accuracy,
            "history": metadata.get("history"),
            "input": metadata.get("input"),
        }

    @app.get("/api/confusion")
    async def confusion():
        evaluation = await run_in_threadpool(predictor().evaluation)
        return {
            "dataset": evaluation["dataset"],
            "accuracy": evaluation["accuracy"],
            "confusion": evaluation["confusion"],
        }

    @app.get("/api/examples")
    async def examples(
        true: int = Query(ge=0, le=9, description="true digit"),
        predicted: int = Query(ge=0, le=9, description="predicted digit"),
    ):
        evaluation = await run_in_threadpool(predictor().evaluation)
        split = evaluation["split"]
        cell = (split.labels == true) & (evaluation["predicted"] == predicted)
        indices = np.flatnonzero(cell)
        return {
            "true": true,
            "predicted": predicted,
            "count": int(indices.size),
            "images": [
                [round(float(p), 3) for p in split.images[i]] for i in indices[:EXAMPLES_SHOWN]
            ],
        }

    streams = Streams()
    add_training_routes(app, session, served, Predictor, streams)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    guarded = guard(app, allowed_hosts, token)

    def begin_shutdown() -> None:
        """The server is stopping (SIGTERM, Ctrl-C): stop the run, end every event stream."""
        streams.closing = True
        if session.run is not None and session.run.active:
            session.run.control.stop()

    guarded.begin_shutdown = begin_shutdown  # called by server.run on the first signal
    return guarded


def find_model(model: Path | None) -> Path | None:
    """The model to serve: the one named, else model.npz here, else None (the page then opens
    on its Train panel)."""
    if model is not None:
        return model
    if Path("model.npz").is_file():
        return Path("model.npz")
    return None
