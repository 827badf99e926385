"""Work on a pool with a bounded queue: `Executor.map` and a list of `submit`s queue every item at once, and keep
every result until the end, which a DFDC-sized input (~119 000 videos) cannot afford."""

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from typing import TypeVar

QUEUED_PER_WORKER = 4
"""A queue of this many items a worker keeps each busy, and is short whatever the input's length."""

Item = TypeVar("Item")
Result = TypeVar("Result")


def bounded(
    pool: Executor, work: Callable[[Item], Result], items: Iterable[Item], limit: int
) -> Iterator[tuple[Item, Result]]:
    """(item, work(item)) for each item, in the order they finish, with at most `limit` submitted and not yet taken;
    `items` is drawn from only as the queue has room, so it may be a generator over a long manifest."""
    pending: dict[Future[Result], Item] = {}
    for item in items:
        while len(pending) >= limit:
            yield from _finished(pending)
        pending[pool.submit(work, item)] = item
    while pending:
        yield from _finished(pending)


def in_order(
    pool: Executor, work: Callable[[Item], Result], items: Iterable[Item], limit: int
) -> Iterator[tuple[Item, Result]]:
    """(item, work(item)) for each item in the items' order, with at most `limit` submitted and not yet taken: for
    a stage that writes its output as it goes in its input's order (a sorted manifest), holding only the window."""
    window: deque[tuple[Item, Future[Result]]] = deque()
    for item in items:
        if len(window) >= limit:
            oldest, future = window.popleft()
            yield oldest, future.result()
        window.append((item, pool.submit(work, item)))
    while window:
        oldest, future = window.popleft()
        yield oldest, future.result()


def _finished(pending: dict[Future[Result], Item]) -> Iterator[tuple[Item, Result]]:
    done, _ = wait(pending, return_when=FIRST_COMPLETED)
    for future in done:
        yield pending.pop(future), future.result()
