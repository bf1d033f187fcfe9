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
No math lives here: the network, the framing and the evaluation are the library's.
"""

import hmac
import io
import json
import math
import threading
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs

import numpy as np
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from mnist_nn.errors import UserError
from mnist_nn.reading.images import read_digit_and_number
from mnist_nn.reading.reader import Reader
from mnist_nn.saving.model_files import load_model
from mnist_nn.web.session import RunConflict, TrainingSession, weight_images
from mnist_nn.web.train_routes import Streams, add_training_routes

STATIC = Path(__file__).parent / "static"
MAX_BODY_BYTES = 5 * 1024 * 1024  # an upload larger than this is refused (413)
EXAMPLES_SHOWN = 12
MEMORY_BUDGET = 2 << 30  # bytes a training run started from the page may hold besides the data


class BodyTooLarge(HTTPException):
    def __init__(self):
        super().__init__(413, f"the request is larger than {MAX_BODY_BYTES // 2**20} MB")


STATE_CHANGING = {"POST", "PATCH", "PUT", "DELETE"}
TOKEN_COOKIE = "mnist_nn_token"


def guard(app, allowed_hosts=None, token: str | None = None):
    """ASGI middleware: who may drive this server, and how much a request may send.

    - A Host header not in `allowed_hosts` (when given) is refused: a page on another site cannot
      reach this server through a name that points here (DNS rebinding).
    - A request that changes something (POST, PATCH) sent by a page of another site is refused
      (403): browsers say so in `Origin` and `Sec-Fetch-Site`. Scripts (curl, Python) send
      neither and keep working. JSON bodies must be declared `application/json` (415 otherwise,
      see train_api.py), which a page of another site cannot send without asking first.
    - With a `token` (beyond localhost), every request must carry it: `?token=` once (the
      address `mnist-nn serve` prints; the page then keeps it in a same-site cookie), or an
      `Authorization: token ...` header.
    - Bodies over MAX_BODY_BYTES are refused, by header or while they stream in.
    """

    async def refuse(status: int, message: str, scope, receive, send):
        return await JSONResponse({"error": message}, status_code=status)(scope, receive, send)

    async def middleware(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        headers = dict(scope["headers"])
        host = headers.get(b"host", b"").decode("latin-1")
        if allowed_hosts is not None:
            name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            if name.strip("[]") not in allowed_hosts:
                message = f"this server does not answer for host {name!r}"
                return await refuse(400, message, scope, receive, send)
        if scope["method"] in STATE_CHANGING:
            problem = foreign_site(headers, f"{scope.get('scheme', 'http')}://{host}")
            if problem:
                return await refuse(403, problem, scope, receive, send)
        given = None
        if token is not None:
            given = presented_token(scope, headers)
            if given is None or not hmac.compare_digest(given, token):
                message = (
                    "this server needs its token: open the address `mnist-nn serve` printed "
                    "(ending in ?token=...), or send the header Authorization: token ..."
                )
                return await refuse(403, message, scope, receive, send)
        length = headers.get(b"content-length", b"0")
        if length.isdigit() and int(length) > MAX_BODY_BYTES:
            return await refuse(413, BodyTooLarge().detail, scope, receive, send)
        received = 0

        async def counted_receive():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > MAX_BODY_BYTES:
                raise BodyTooLarge()
            return message

        async def send_with_cookie(message):
            # The page was opened with ?token=: keep it in a cookie that only this site's own
            # requests carry (SameSite=Strict), so its fetches and event streams need no code.
            if message["type"] == "http.response.start" and b"token=" in scope["query_string"]:
                cookie = f"{TOKEN_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"
                headers = [*message["headers"], (b"set-cookie", cookie.encode())]
                message = {**message, "headers": headers}
            await send(message)

        try:
            return await app(scope, counted_receive, send_with_cookie if given else send)
        except ClientDisconnect:  # gone, or closed to make room for others: no one to answer
            return None

    return middleware


def foreign_site(headers: dict, own_origin: str) -> str | None:
    """Why a request comes from a page of another site (None if it does not, or if it comes
    from no page at all: a script sends neither header)."""
    origin = headers.get(b"origin", b"").decode("latin-1")
    if origin and origin != own_origin:
        return f"refused: a request from another site ({origin}) may not drive this server"
    fetch_site = headers.get(b"sec-fetch-site", b"").decode("latin-1")
    if fetch_site and fetch_site not in ("same-origin", "none"):
        return f"refused: a {fetch_site} request may not drive this server"
    return None


def presented_token(scope, headers: dict) -> str | None:
    """The token a request carries: ?token=, an Authorization header, or the page's cookie."""
    query = parse_qs(scope["query_string"].decode("latin-1"))
    if query.get("token"):
        return query["token"][0]
    authorization = headers.get(b"authorization", b"").decode("latin-1").split()
    if len(authorization) == 2 and authorization[0].lower() in ("token", "bearer"):
        return authorization[1]
    for part in headers.get(b"cookie", b"").decode("latin-1").split(";"):
        name, _, value = part.strip().partition("=")
        if name == TOKEN_COOKIE:
            return value
    return None


def read_image_upload(data: bytes, reader: Reader) -> dict:
    """Image file bytes -> the page's answer: the digit (framed as `predict` frames it) and the
    number written on it; a bad image is a 400."""
    try:
        pixels, number = read_digit_and_number(io.BytesIO(data), reader, name="the upload")
    except UserError as error:
        raise HTTPException(400, str(error)) from None
    answer = read_digit(reader, pixels)
    answer.update(number.to_dict() if number else {"number": None, "digits": []})
    return answer


def read_json_upload(data: bytes, reader: Reader) -> dict:
    """JSON pixels (already framed) -> the page's answer for one digit."""
    return read_digit(reader, pixels_from_json(data))


def pixels_from_json(data: bytes) -> np.ndarray:
    try:
        payload = json.loads(data)
    except (ValueError, RecursionError):  # RecursionError: "[" nested 100,000 deep
        raise HTTPException(400, "the body is not valid JSON") from None
    values = payload.get("pixels") if isinstance(payload, dict) else None
    if not isinstance(values, list) or len(values) != 784:
        count = len(values) if isinstance(values, list) else "no"
        raise HTTPException(400, f'expected {{"pixels": [784 numbers]}}, got {count} values')
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        raise HTTPException(400, "every pixel must be a number")
    try:
        pixels = np.array(values, dtype=np.float64)
    except OverflowError:  # an integer of 4,000 digits
        pixels = np.full(1, np.inf)
    if not np.all(np.isfinite(pixels)) or pixels.min() < 0 or pixels.max() > 1:
        raise HTTPException(
            400, "pixels must be finite numbers in [0, 1] (NaN and infinity are not)"
        )
    return pixels.astype(np.float32)


class Predictor:
    """A model being served and what is derived from it (the test set's confusion matrix,
    computed once, on first use)."""

    def __init__(self, network, metadata: dict, test_split=None):
        if network.sizes[0] != 28 * 28:
            raise UserError(
                f"this model takes {network.sizes[0]} values per example, not the 784 pixels of "
                "a 28x28 image: the page cannot draw for it"
            )
        self.network, self.metadata = network, metadata
        self.reader = Reader.from_model(network, metadata)
        self.dtype = self.metadata["dtype"]
        self._evaluation, self._failure = None, None
        self._lock = threading.Lock()  # many first requests at once evaluate once
        self._test_split = test_split  # known already when the model was trained here

    @classmethod
    def from_file(cls, path: Path) -> "Predictor":
        return cls(*load_model(path))

    def evaluation(self) -> dict:
        """Confusion matrix and predictions on the model's test set: computed once (under a
        lock), and a test set that cannot be had is remembered, not looked for again."""
        with self._lock:
            if self._evaluation is None and self._failure is None:
                self._evaluate()
        if self._failure is not None:
            raise HTTPException(503, self._failure)
        return self._evaluation

    def _evaluate(self) -> None:
        from mnist_nn.data.dataset import load_dataset
        from mnist_nn.evaluate.metrics import evaluate

        name = str(self.metadata.get("dataset", "mnist"))
        split = self._test_split
        if split is None:
            try:
                if name not in ("mnist", "digits"):  # the user's own data file: not here
                    raise UserError(name)
                split = load_dataset(name).test
            except UserError:  # e.g. no MNIST here: say so, without the server's paths
                self._failure = f"the {name} test set is not available on this server"
                return
        split = type(split)(split.images.astype(self.dtype), split.labels)
        self._evaluation = {"dataset": name, "split": split, **evaluate(self.network, split)}


def read_digit(reader: Reader, pixels: np.ndarray) -> dict:
    """What the page shows for one (784,) input: the verdict and the digit, the ten calibrated
    probabilities, the input itself and the first hidden layer's activations."""
    network = reader.network
    pixels = pixels.astype(network.dtype)
    reading = reader.read(pixels[None, :])[0]
    probabilities = reading.probabilities
    _, hidden = network.explain(pixels[None, :])
    maps = network.feature_maps(pixels[None, :])
    return {
        **reading.to_dict(),
        "digit": int(probabilities.argmax()),  # the bar to mark (a class's name is in `top`)
        "probabilities": [round(float(p), 6) for p in probabilities],
        "input": [round(float(p), 4) for p in pixels],  # the 28x28 the network received
        "hidden": [round(float(a), 4) for a in hidden[0][0]] if hidden else [],
        "feature_maps": None if maps is None else feature_map_images(maps[0]),
    }


def feature_map_images(maps: np.ndarray) -> dict:
    """A network's first convolution's (F, Ho, Wo) maps of one image, for the page: each scaled
    to its own largest |value| as bytes (128 is zero), as the live weights are sent."""
    count, height, width = maps.shape
    pixels = weight_images(maps.reshape(count, -1).T, units=count)
    return {"count": count, "height": height, "width": width, "pixels": pixels}


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
        return JSONResponse({"error": str(error.detail)}, status_code=error.status_code)

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
