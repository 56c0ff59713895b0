"""Runs a Pulumi Python program in-process against our resource monitor.

The program runs on a thread of its own, so that the SDK's context variables (settings, root
resource, config) start fresh for every run, with an event loop whose default executor (where the
SDK performs its monitor calls) is sized by the run's walker (:attr:`engine.walk.Walker.sdk_threads`),
on the SDK as the engine hosts it (:mod:`engine.sdk_host`).
"""

from __future__ import annotations

import asyncio
import os
import runpy
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from .errors import EngineError
from .project import Project, StackConfig
from .sdk_host import adjust_sdk


def run_program(
    project: Project,
    stack: str,
    config: StackConfig,
    monitor,
    engine_log,
    dry_run: bool,
    executor_threads: int,
) -> BaseException | None:
    """Run the program to completion; returns the exception it raised, if any."""
    outcome: dict[str, BaseException | None] = {"error": None}

    def target() -> None:
        outcome["error"] = _run(project, stack, config, monitor, engine_log, dry_run, executor_threads)

    thread = threading.Thread(target=target, name="fleetform-program")
    thread.start()
    thread.join()
    return outcome["error"]


def _run(project, stack, config, monitor, engine_log, dry_run, executor_threads) -> BaseException | None:
    from pulumi.runtime import config as pulumi_config
    from pulumi.runtime import settings
    from pulumi.runtime.stack import run_in_stack

    adjust_sdk()

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.set_exception_handler(_quiet_engine_errors)
    executor = ThreadPoolExecutor(max_workers=executor_threads, thread_name_prefix="fleetform-sdk")
    loop.set_default_executor(executor)
    settings.configure(
        settings.Settings(
            project=project.name,
            stack=stack,
            monitor=monitor,
            engine=engine_log,
            dry_run=dry_run,
            organization="organization",
            root_directory=str(project.dir),
        )
    )
    settings.ROOT.set(None)
    pulumi_config.set_all_config(dict(config.values), list(config.secret_keys))
    project_dir = str(project.dir)
    if project_dir not in sys.path:
        sys.path.insert(0, project_dir)
    previous_cwd = os.getcwd()
    os.chdir(project_dir)
    error: BaseException | None = None
    try:
        loop.run_until_complete(run_in_stack(lambda: runpy.run_path(str(project.main), run_name="__main__")))
    except BaseException as exc:  # reported by the caller
        error = exc
    finally:
        _drain(loop)
        os.chdir(previous_cwd)
        executor.shutdown(wait=True)
        loop.close()
    return error


def _quiet_engine_errors(loop: asyncio.AbstractEventLoop, context: dict) -> None:
    """The loop's exception handler: an engine error raised from the monitor (an unsupported
    feature, a duplicate URN) is reported once, as the program's error; the SDK also resolves the
    resource's outputs with it, and asyncio would log each output nobody awaited as a traceback."""
    if not isinstance(context.get("exception"), EngineError):
        loop.default_exception_handler(context)


def _drain(loop: asyncio.AbstractEventLoop) -> None:
    """Let every task the program started finish, so independent branches complete after a failure."""
    while True:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        if not pending:
            return
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
