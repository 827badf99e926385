import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor

import pytest

from deepfake.components.pools import bounded, in_order

Queued = Callable[[Executor, Callable[[int], int], Iterable[int], int], Iterator[tuple[int, int]]]
POOLS = pytest.mark.parametrize("queued", [bounded, in_order])


@POOLS
def test_a_long_input_is_drawn_only_as_the_queue_has_room_and_every_result_keeps_its_item(queued: Queued) -> None:
    lock = threading.Lock()
    drawn, finished, most_queued = 0, 0, 0

    def items() -> Iterator[int]:
        nonlocal drawn, most_queued
        for item in range(200):
            with lock:
                drawn += 1
                most_queued = max(most_queued, drawn - finished)
            yield item

    def work(item: int) -> int:
        time.sleep(0.001 * (item % 3))
        return item * item

    with ThreadPoolExecutor(2) as pool:
        results = []
        for item, result in queued(pool, work, items(), limit=5):
            with lock:
                finished += 1
            results.append((item, result))
    expected = [(item, item * item) for item in range(200)]
    assert (results if queued is in_order else sorted(results)) == expected
    assert most_queued <= 6, f"{most_queued} items drawn and not yet taken (limit 5, plus the one being submitted)"


@POOLS
def test_a_failure_in_the_work_reaches_the_caller(queued: Queued) -> None:
    def work(item: int) -> int:
        if item == 3:
            raise ValueError("item 3 is bad")
        return item

    with ThreadPoolExecutor(2) as pool, pytest.raises(ValueError, match="item 3 is bad"):
        list(queued(pool, work, range(10), limit=2))
