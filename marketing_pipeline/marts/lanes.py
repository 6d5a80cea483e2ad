"""Run builders side by side: each starts as soon as the builders it reads have finished.

A builder is one SQL target in its own transaction on its own connection, so the independent
branches of the model (core.orders beside core.email_events, RFM beside attribution) keep as many
server backends busy as there are lanes, instead of one backend after another. Results come back
in the caller's thread, in the order the builders finish.

The builders that others wait on go first: when several are ready and a lane is free, the one with
the longest chain of builders waiting below it starts (among equals, the first in ``names``), and a
finished builder's readers are started before its outcome is handed back, so the caller's work on
an outcome (Dagster stores its events) never holds the next builder back.
"""

from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Outcome:
    name: str
    value: Any = None  # what the builder returned
    error: BaseException | None = None
    skipped_because: str | None = None  # a builder it reads failed or was held back


def run(
    names: list[str],
    reads: Mapping[str, list[str]],
    build: Callable[[str], Any],
    *,
    lanes: int,
    holds: Callable[[str, Any], bool] = lambda name, value: False,
) -> Iterator[Outcome]:
    """Every name in ``names`` once, after those of its ``reads`` that are also in ``names``.

    ``holds(name, value)`` true keeps the builders that read ``name`` from starting (a failed
    blocking check); a builder that raised does the same. Nothing started is ever cancelled.
    """
    wanted = set(names)
    waiting = {n: {d for d in reads.get(n, []) if d in wanted} for n in names}
    priority = _longest_chain_first(names, waiting)
    blocked: dict[str, str] = {}  # name -> why the builders reading it do not start (the first cause)
    running: dict[Future, str] = {}
    finished: list[Outcome] = []  # handed back once the builders they let start are running
    with ThreadPoolExecutor(max_workers=max(1, lanes), thread_name_prefix="marts-lane") as pool:
        while waiting or running or finished:
            while skip := sorted(n for n, deps in waiting.items() if deps & blocked.keys()):
                for name in skip:  # and, on the next pass, what reads them
                    blocked[name] = blocked[min(waiting.pop(name) & blocked.keys())]
                    finished.append(Outcome(name, skipped_because=blocked[name]))
            ready = sorted((n for n, deps in waiting.items() if not deps), key=priority.index)
            for name in ready[: max(1, lanes) - len(running)]:  # the rest wait for a free lane
                del waiting[name]
                running[pool.submit(build, name)] = name
            yield from finished
            finished.clear()
            if not running:
                if waiting:
                    raise ValueError(f"builders that read each other: {sorted(waiting)}")
                continue
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                name = running.pop(future)
                error = future.exception()
                value = None if error else future.result()
                if error is not None:
                    blocked[name] = f"{name} failed ({type(error).__name__})"
                elif holds(name, value):
                    blocked[name] = f"{name} was held back by a blocking check"
                else:
                    for deps in waiting.values():
                        deps.discard(name)
                finished.append(Outcome(name, value, error))


def _longest_chain_first(names: list[str], waiting: Mapping[str, set[str]]) -> list[str]:
    """``names`` ordered by the longest chain of builders that read each (its readers, theirs, ...),
    longest first; ties keep their order in ``names``."""
    readers: dict[str, list[str]] = {n: [] for n in names}
    for name, deps in waiting.items():
        for dep in deps:
            readers[dep].append(name)
    chain: dict[str, int] = {}

    def length(name: str, path: frozenset) -> int:
        if name not in chain:
            below = [r for r in readers[name] if r not in path]  # a cycle ends here: run() refuses it
            chain[name] = 1 + max((length(r, path | {name}) for r in below), default=0)
        return chain[name]

    return sorted(names, key=lambda n: -length(n, frozenset()))
