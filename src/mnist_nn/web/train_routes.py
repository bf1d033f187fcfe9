"""The Train panel's API: start a run, watch it (Server-Sent Events), steer it, then use or
download its model. The run itself is `session.py`'s (this folder's): the library's Trainer in a
background thread; these routes only ask it and report.
"""

import asyncio
import json

from fastapi import FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse
from starlette.requests import ClientDisconnect

from mnist_nn.nn.stack import reads_lines
from mnist_nn.saving.model_files import model_bytes, model_metadata
from mnist_nn.web.session import TrainingSession

EVENT_SECONDS = 0.2  # progress events five times a second while a run trains
MAX_STREAMS = 32  # event streams open at once; beyond, 503 (the run's controls stay reachable)
SEND_SECONDS = 10.0  # a client that has not taken an event after this long is dropped


class Streams:
    """The open event streams, and whether the server is shutting down (then every stream
    ends at once, so that the server can stop)."""

    def __init__(self):
        self.open = 0
        self.closing = False


def add_training_routes(
    app: FastAPI, session: TrainingSession, served: dict, make_predictor, streams: Streams
):
    """The Train panel's API: start, watch, steer, then use or download the model; "use" puts
    `make_predictor(network, metadata, test_split)` in `served`."""

    async def json_body(request: Request):
        body = await request.body()
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if body and media_type != "application/json":
            # A page of another site can send text/plain without asking; JSON it must ask for.
            raise HTTPException(
                415, "send the settings as JSON, with Content-Type: application/json"
            )
        try:
            return json.loads(body or b"{}")
        except (ValueError, RecursionError):
            raise HTTPException(400, "the body is not valid JSON") from None

    @app.get("/api/presets")
    async def presets():
        """The presets and the settings the Train panel's form is built from (each with its
        type, limits, help and choices, as config.py declares them)."""
        from mnist_nn.presets import PRESETS
        from mnist_nn.web.form import form_settings

        data = await run_in_threadpool(session.load_dataset, 0, "float32")
        return {
            "dataset": {"name": data.name, "train_size": len(data.train)},
            "presets": {
                name: config.to_dict()
                for name, config in PRESETS.items()
                if not reads_lines(config.layers)  # the page trains digit readers
            },
            "settings": form_settings(),
        }

    @app.post("/api/train", status_code=202)
    async def start(request: Request):
        payload = await json_body(request)
        run = await run_in_threadpool(session.start, payload)  # loading data may take a moment
        return run.summary()

    @app.get("/api/train")
    async def status():
        run = session.run
        if run is None:
            return {"state": "none"}
        return {**run.summary(), "settings": run.settings(), "history": run.trainer.state.history}

    @app.patch("/api/train")
    async def change(request: Request):
        return session.change(await json_body(request)).summary()

    for name in ("pause", "resume", "step", "stop"):

        async def command(name=name):
            run = session.current(active=True)
            getattr(run.control, name)()
            return run.summary()

        app.post(f"/api/train/{name}", name=f"train_{name}")(command)

    @app.post("/api/train/use")
    async def use():
        run = session.finished()
        metadata = model_metadata(run.trainer.network, run.record)  # calibrated once, at the end
        served["predictor"] = make_predictor(run.trainer.network, metadata, run.dataset.test)
        return {"served": True, "test_accuracy": run.result.test_accuracy}

    @app.get("/api/train/model.npz")
    async def download():
        run = session.finished()
        data = await run_in_threadpool(model_bytes, run.trainer.network, run.record)
        headers = {"Content-Disposition": 'attachment; filename="model.npz"'}
        return Response(data, media_type="application/octet-stream", headers=headers)

    @app.get("/api/train/events")
    async def events(request: Request):
        if streams.open >= MAX_STREAMS:
            raise HTTPException(503, f"{MAX_STREAMS} pages are watching already: try again later")
        resume_from = request.headers.get("last-event-id", "0")
        # isdigit() alone takes "²" (a digit int() refuses); a resumed count is ASCII digits.
        start = int(resume_from) if resume_from.isascii() and resume_from.isdigit() else 0
        return EventStreamResponse(event_stream(session, request, streams, start), streams)


class EventStreamResponse(StreamingResponse):
    """Server-Sent Events, counted against MAX_STREAMS while open. Each event must be taken by
    the client within SEND_SECONDS, else the client is dropped: a page that stopped reading
    holds one event's worth of memory, and only for that long."""

    def __init__(self, content, streams: Streams):
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        super().__init__(content, media_type="text/event-stream", headers=headers)
        self.streams = streams

    async def __call__(self, scope, receive, send):
        async def send_in_time(message):
            await asyncio.wait_for(send(message), SEND_SECONDS)

        self.streams.open += 1
        try:
            await super().__call__(scope, receive, send_in_time)
        except (TimeoutError, ClientDisconnect):  # (Starlette reports the timeout as the latter)
            return  # dropped: uvicorn closes a connection whose response did not end
        finally:
            self.streams.open -= 1


async def event_stream(
    session: TrainingSession, request: Request, streams: Streams, points_sent: int = 0
):
    """Server-Sent Events for the page: a `progress` event five times a second while the run
    trains (new curve points only: `id` counts them, so a reconnecting page resumes), an `epoch`
    event when an epoch ends (history, held-out confusion matrix) and `weights` when the first
    layer's weights were sampled again. Ends once the run has ended and all has been sent."""
    versions = {"epoch": -1, "weights": -1}
    while not streams.closing and not await request.is_disconnected():
        run = session.run
        if run is None:
            yield sse("progress", {"state": "none"}, points_sent)
            return
        live, active = run.live, run.active  # read before sending: nothing is missed at the end
        points = live.points[points_sent:]
        points_sent += len(points)
        yield sse("progress", {**run.summary(), "points": points}, points_sent)
        if live.epoch_version != versions["epoch"]:
            versions["epoch"] = live.epoch_version
            epoch = {"history": run.trainer.state.history, "confusion": live.confusion}
            yield sse("epoch", epoch, points_sent)
        if live.weights_version != versions["weights"]:
            versions["weights"] = live.weights_version
            weights = {"units": 16, "side": live.weights_side, "pixels": live.weights}
            yield sse("weights", weights, points_sent)
        if not active:
            return
        await asyncio.sleep(EVENT_SECONDS)


def sse(event: str, data: dict, event_id: int) -> str:
    return f"id: {event_id}\nevent: {event}\ndata: {json.dumps(data)}\n\n"
