"""`chirp serve --workers N`: N server processes on one listening socket, so one machine's
cores all serve requests (Python runs one request's code on one core at a time).

The parent binds the socket, starts each process with its own snowflake worker id
(CHIRP_WORKER_ID, then the next N-1, so their ids never collide), restarts a process that
dies, and on SIGTERM or SIGINT stops them all and waits for them. What processes share is
kept coherent the way a server and `chirp worker` already share it: caches, rate limits and
live events live in the shared cache (Redis), and each process's in-memory copies (L1) are
evicted by the invalidation events every write announces (app/invalidation.py). An
in-process cache (`memory://`, the embedded default's) cannot be shared, so more than one
process is refused there with a message saying what to set.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import time
from multiprocessing.process import BaseProcess
from typing import Any

from app.settings import Settings
from storage.registry import scheme_of

log = logging.getLogger("chirp.serve")

MAX_WORKER_ID = 1023
STOP_TIMEOUT_S = 30.0
RESTART_PAUSE_S = 1.0  # a process that dies at start is not restarted in a tight loop


def refusal(settings: Settings, workers: int) -> str | None:
    """Why `--workers` cannot run with these settings, or None if it can."""
    if workers < 1:
        return f"--workers must be at least 1, got {workers}"
    if workers == 1:
        return None
    if scheme_of(settings.cache_url) != "redis":
        return (
            f"--workers {workers} needs a cache every process shares: set CHIRP_CACHE_URL to a "
            "Redis (redis://...). The in-process cache (memory://) would give each process its "
            "own rate limits, caches and live events."
        )
    last = settings.worker_id + workers - 1
    if last > MAX_WORKER_ID:
        return (
            f"--workers {workers} from CHIRP_WORKER_ID {settings.worker_id} would use worker "
            f"ids up to {last}, over {MAX_WORKER_ID}; set a lower CHIRP_WORKER_ID"
        )
    return None


def serve(settings: Settings, host: str, port: int, workers: int, **uvicorn: Any) -> int:
    import uvicorn as uvicorn_module

    config = uvicorn_module.Config(
        "app.main:create_app", factory=True, host=host, port=port, **uvicorn
    )
    listening = config.bind_socket()
    context = multiprocessing.get_context("spawn")
    stopping = False

    def start(worker_id: int) -> BaseProcess:
        process = context.Process(
            target=_serve_one, args=(config, listening, worker_id), name=f"chirp-{worker_id}"
        )
        process.start()
        log.info("server process %d started (worker id %d)", process.pid, worker_id)
        return process

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    processes = {settings.worker_id + n: start(settings.worker_id + n) for n in range(workers)}
    try:
        while not stopping:
            time.sleep(0.2)
            for worker_id, process in list(processes.items()):
                if process.is_alive() or stopping:
                    continue
                log.error(
                    "server process %d (worker id %d) exited with %s; starting it again",
                    process.pid,
                    worker_id,
                    process.exitcode,
                )
                time.sleep(RESTART_PAUSE_S)
                processes[worker_id] = start(worker_id)
    finally:
        for process in processes.values():
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)  # uvicorn's graceful shutdown
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for process in processes.values():
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                log.error("server process %d did not stop in time; killed", process.pid)
                process.kill()
                process.join()
        listening.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def _serve_one(config: Any, listening: socket.socket, worker_id: int) -> None:
    """One server process: its own worker id, then uvicorn on the shared socket."""
    import uvicorn

    os.environ["CHIRP_WORKER_ID"] = str(worker_id)  # read by create_app's settings
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    uvicorn.Server(config).run(sockets=[listening])
