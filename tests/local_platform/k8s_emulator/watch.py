"""Watch support (`?watch=true`), used by kubectl wait/rollout status and client informers.

Every stored change is appended to a bounded in-memory log; a watch replays
the log after the requested resourceVersion (or synthesises ADDED events for
the current objects when none is given) and then follows new changes.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
from dataclasses import dataclass

from aiohttp import web

LOG_SIZE = 20000


@dataclass
class Event:
    rv: int
    type: str
    key: tuple[str, str]
    obj: dict


class EventLog:
    def __init__(self) -> None:
        self.events: collections.deque[Event] = collections.deque(maxlen=LOG_SIZE)
        self._wakeup = asyncio.Event()

    def record(self, rv: int, etype: str, key: tuple[str, str], obj: dict) -> None:
        self.events.append(Event(rv, etype, key, obj))
        wakeup, self._wakeup = self._wakeup, asyncio.Event()
        wakeup.set()

    def oldest_rv(self) -> int | None:
        return self.events[0].rv if self.events else None

    def after(self, rv: int) -> list[Event]:
        return [e for e in self.events if e.rv > rv]

    async def wait(self, timeout: float) -> None:
        wakeup = self._wakeup
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(wakeup.wait(), timeout)


async def serve(request: web.Request, log: EventLog, key: tuple[str, str], *, initial: list[dict],
                current_rv: int, matches, present) -> web.StreamResponse:
    """Stream watch events as newline-delimited JSON.

    `matches(obj)` applies namespace and selectors; `present(obj)` fixes the
    apiVersion the client asked for.
    """
    try:
        timeout = float(request.query.get("timeoutSeconds", "1800"))
    except ValueError:
        timeout = 1800.0
    since_text = request.query.get("resourceVersion", "")
    response = web.StreamResponse(headers={"Content-Type": "application/json",
                                           "Transfer-Encoding": "chunked"})
    await response.prepare(request)

    async def send(etype: str, obj: dict) -> None:
        await response.write((json.dumps({"type": etype, "object": present(obj)}) + "\n").encode())

    if since_text in ("", "0"):
        for obj in initial:
            await send("ADDED", obj)
        since = current_rv
    else:
        since = int(since_text) if since_text.isdigit() else current_rv
        oldest = log.oldest_rv()
        if oldest is not None and since < oldest - 1:
            await response.write((json.dumps({"type": "ERROR", "object": {
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "too old resource version: %d (%d)" % (since, oldest - 1),
                "reason": "Expired", "code": 410}}) + "\n").encode())
            await response.write_eof()
            return response
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        while True:
            for event in log.after(since):
                since = event.rv
                if event.key == key and matches(event.obj):
                    await send(event.type, event.obj)
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            await log.wait(min(remaining, 5.0))
            if request.transport is None or request.transport.is_closing():
                return response
        await response.write_eof()
    except ConnectionResetError:
        # Watchers hang up whenever they have seen what they wanted.
        pass
    return response
