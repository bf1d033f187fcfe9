"""The draw-a-digit web app: a FastAPI server around a saved model, and the page it serves.

    GET  /                      the page (static HTML/CSS/JS, no build step, works offline)
    POST /api/predict           an image (upload, or raw image bytes), or JSON {"pixels": [784]}
    GET  /api/model             the model's metadata: architecture, configuration, metrics
    GET  /api/confusion         the confusion matrix on the model's test set
    GET  /api/examples?true=3&predicted=5   test digits from one cell of that matrix

Images get the same MNIST-style framing as `mnist-nn predict` (images.py); JSON pixels are taken
as an image already framed like MNIST (28x28, white ink on black, row by row). Every bad request
gets a 4xx JSON answer {"error": "one line"}; nothing else about the server leaks to the client.
No math lives here: the network, the framing and the evaluation are the library's.
"""

import io
import json
import math
from pathlib import Path

import numpy as np
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from mnist_nn.errors import UserError
from mnist_nn.images import load_digit
from mnist_nn.persistence import load_model

STATIC = Path(__file__).parent / "static"
MAX_BODY_BYTES = 5 * 1024 * 1024  # an upload larger than this is refused (413)
EXAMPLES_SHOWN = 12


class BodyTooLarge(HTTPException):
    def __init__(self):
        super().__init__(413, f"the request is larger than {MAX_BODY_BYTES // 2**20} MB")


def limit_body_size(app):
    """ASGI middleware: refuse bodies over MAX_BODY_BYTES, by header or while they stream in."""

    async def middleware(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if length.isdigit() and int(length) > MAX_BODY_BYTES:
            response = JSONResponse({"error": BodyTooLarge().detail}, status_code=413)
            return await response(scope, receive, send)
        received = 0

        async def counted_receive():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > MAX_BODY_BYTES:
                raise BodyTooLarge()
            return message

        return await app(scope, counted_receive, send)

    return middleware


def pixels_from_image(data: bytes) -> np.ndarray:
    """Image file bytes -> (784,) MNIST-style input (as `predict` frames it), or a 400."""
    try:
        return load_digit(io.BytesIO(data), name="the upload")
    except UserError as error:
        raise HTTPException(400, str(error)) from None


def pixels_from_json(data: bytes) -> np.ndarray:
    try:
        payload = json.loads(data)
    except ValueError:
        raise HTTPException(400, "the body is not valid JSON") from None
    values = payload.get("pixels") if isinstance(payload, dict) else None
    if not isinstance(values, list) or len(values) != 784:
        count = len(values) if isinstance(values, list) else "no"
        raise HTTPException(400, f'expected {{"pixels": [784 numbers]}}, got {count} values')
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        raise HTTPException(400, "every pixel must be a number")
    pixels = np.array(values, dtype=np.float64)
    if not np.all(np.isfinite(pixels)) or pixels.min() < 0 or pixels.max() > 1:
        raise HTTPException(
            400, "pixels must be finite numbers in [0, 1] (NaN and infinity are not)"
        )
    return pixels.astype(np.float32)


class Predictor:
    """The loaded model and what is derived from it (the test set's confusion matrix, lazily)."""

    def __init__(self, model_path: Path):
        self.network, self.metadata = load_model(model_path)
        self.dtype = self.metadata["dtype"]
        self._evaluation = None

    def predict(self, pixels: np.ndarray) -> dict:
        scores, hidden = self.network.explain(pixels[None, :].astype(self.dtype))
        probabilities = scores[0]
        return {
            "digit": int(probabilities.argmax()),
            "probabilities": [round(float(p), 6) for p in probabilities],
            "input": [round(float(p), 4) for p in pixels],  # the 28x28 the network received
            "hidden": [round(float(a), 4) for a in hidden[0][0]] if hidden else [],
        }

    def evaluation(self) -> dict:
        """Confusion matrix and predictions on the model's test set (computed once)."""
        if self._evaluation is None:
            from mnist_nn.data import MnistNotFound, load_dataset
            from mnist_nn.evaluation import evaluate

            name = self.metadata.get("dataset", "mnist")
            try:
                dataset = load_dataset(name, dtype=self.dtype)
            except MnistNotFound as error:
                raise HTTPException(503, f"the test set is not available: {error}") from None
            results = evaluate(self.network, dataset.test)
            self._evaluation = {"dataset": name, "split": dataset.test, **results}
        return self._evaluation


def create_app(model_path) -> FastAPI:
    predictor = Predictor(Path(model_path))
    app = FastAPI(title="mnist-nn", docs_url=None, redoc_url=None)

    @app.exception_handler(HTTPException)
    async def http_error(request, error):
        return JSONResponse({"error": str(error.detail)}, status_code=error.status_code)

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
    async def predict(request: Request):
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
            form = await request.form()
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                raise HTTPException(400, 'send the image in a form field named "file"')
            data = await upload.read()
            parse = pixels_from_image
        else:
            data = await request.body()
            parse = pixels_from_json if "json" in content_type else pixels_from_image
        if not data:
            raise HTTPException(400, "the request has no body: send an image or JSON pixels")
        pixels = await run_in_threadpool(parse, data)
        return await run_in_threadpool(predictor.predict, pixels)

    @app.get("/api/model")
    async def model():
        metadata = predictor.metadata
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
        evaluation = await run_in_threadpool(predictor.evaluation)
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
        evaluation = await run_in_threadpool(predictor.evaluation)
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

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return limit_body_size(app)


def find_model(model: Path | None) -> Path:
    """The model to serve: the one named, else model.npz here, else a clear error."""
    if model is not None:
        return model
    if Path("model.npz").is_file():
        return Path("model.npz")
    raise UserError(
        "no model to serve: there is no model.npz here; train one first (python main.py writes "
        "model.npz) or name one with --model PATH"
    )
