"""Running the web app: uvicorn, with what it lacks against slow and numerous clients.

uvicorn's own settings cover part of it: `timeout_keep_alive` closes idle keep-alive connections
and log_level "warning" keeps one line per problem. (Its `limit_concurrency` is not used: it
counts open connections, so clients that send nothing would make it refuse everyone else.)
What uvicorn has no setting for, this module adds to its h11 protocol (the one it uses without
httptools):
- a deadline for each request to arrive whole: headers within HEADER_SECONDS of the connection
  (or of the previous response), the body within BODY_SECONDS, else the connection is closed;
- a cap on open connections, sized from the open-file limit: at the cap, the oldest idle
  keep-alive connection, else the oldest whose request has not fully arrived (headers or body
  still coming), is closed to make room, so clients that send half a request, or keep a
  connection open and send nothing more, cannot crowd out those that send whole ones;
- a small accept backlog, so that a burst of connections is accepted a few at a time and the cap
  closes the extra ones before the process runs out of file descriptors;
- one line, at most every LOG_SECONDS, where asyncio would log a traceback for each refused
  accept() ("Too many open files").
And the process's open-file limit is raised to its hard limit first.
"""

import asyncio
import contextlib
import logging
import resource
import time

from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_SECONDS = 5.0  # a request's headers must arrive within this
BODY_SECONDS = 30.0  # and its body (at most 5 MB) within this
MAX_CONNECTIONS = 256  # open connections at once, at most (fewer if the open-file limit is low)
BACKLOG = 64  # connections accepted in one go: the cap closes extras before more are taken
KEEP_ALIVE_SECONDS = 5
LOG_SECONDS = 10.0  # at most one line per this long about refused connections


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with request deadlines and a connection cap (see above)."""

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)
        if len(self.connections) > connection_cap():
            self._evict_one()
        self._arm(HEADER_SECONDS)

    def _arm(self, seconds: float) -> None:
        self.waiting_since = time.monotonic()
        self.deadline = self.loop.call_later(seconds, self._deadline_passed)

    def _disarm(self) -> None:
        deadline = getattr(self, "deadline", None)
        if deadline is not None:
            deadline.cancel()
            self.deadline = None

    def _still_arriving(self) -> bool:
        """The request has not fully arrived: headers missing, or the body still coming."""
        return self.cycle is None or self.cycle.more_body

    def _deadline_passed(self) -> None:
        if self._still_arriving():
            self.transport.close()
        elif self.cycle is not None and not self.cycle.response_complete:
            self._disarm()  # it has all arrived: the answer may take as long as it needs

    def handle_events(self) -> None:
        had_headers = self.cycle is not None
        super().handle_events()
        if not had_headers and self.cycle is not None:  # headers now complete: time the body
            self._disarm()
            self._arm(BODY_SECONDS)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._disarm()
        self._arm(HEADER_SECONDS + KEEP_ALIVE_SECONDS)  # the next request on this connection

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _idle(self) -> bool:
        """Kept alive between requests: its last response sent, no new request begun."""
        return self.cycle is not None and self.cycle.response_complete

    def _evict_one(self) -> None:
        """Close the connection that has waited longest for a request: idle keep-alive ones
        first, then those whose request has not fully come. An answer under way is never cut."""
        others = [
            connection
            for connection in self.connections
            if connection is not self
            and isinstance(connection, GuardedH11Protocol)
            # Closing already (it leaves the set a moment later): a burst of new connections
            # must each close another one, not the same one again.
            and not connection.transport.is_closing()
        ]
        for waiting in (
            [connection for connection in others if connection._idle()],
            [connection for connection in others if connection._still_arriving()],
        ):
            if waiting:
                min(waiting, key=lambda connection: connection.waiting_since).transport.close()
                return
        self.transport.close()  # every other connection is busy: refuse this one


def raise_open_file_limit() -> None:
    """Let this process open as many files as the system allows it (sockets are files)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        with contextlib.suppress(ValueError, OSError):  # not allowed here: keep the limit
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def connection_cap() -> int:
    """MAX_CONNECTIONS, or fewer where the open-file limit leaves less room (files, the model,
    the backlog's sockets and a margin need descriptors too)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    return max(16, min(MAX_CONNECTIONS, soft - BACKLOG - 128))


class OneLinePerInterval(logging.Filter):
    """asyncio logs a traceback for every accept() refused for want of file descriptors: keep
    one line per LOG_SECONDS instead (the log of a server under a flood stays small)."""

    def __init__(self):
        super().__init__()
        self.last = -LOG_SECONDS

    def filter(self, record: logging.LogRecord) -> bool:
        if "accept" not in str(record.msg):
            return True
        now = time.monotonic()
        if now - self.last < LOG_SECONDS:
            return False
        self.last = now
        record.msg, record.args, record.exc_info, record.exc_text = (
            f"too many connections at once: new ones wait (logged once per {LOG_SECONDS:.0f} s)",
            (),
            None,
            None,
        )
        return True


def run(app, host: str, port: int) -> None:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, which on SIGTERM or Ctrl-C first tells the app (it stops the run
        and ends its event streams: uvicorn waits for open responses to end)."""

        def handle_exit(self, sig, frame) -> None:
            if hasattr(app, "begin_shutdown"):
                app.begin_shutdown()
            super().handle_exit(sig, frame)

    raise_open_file_limit()
    logging.getLogger("asyncio").addFilter(OneLinePerInterval())
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http=GuardedH11Protocol,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        backlog=BACKLOG,
        log_level="warning",
    )
    Server(config).run()
