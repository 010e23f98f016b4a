"""What `qcity serve` (and the benchmark) do to the interpreter before serving."""

from __future__ import annotations

import gc

from gateway.runtime import SERVING_GC_THRESHOLD, freeze_heap


def test_freeze_heap_collects_the_young_generation_less_often() -> None:
    before = gc.get_threshold()
    try:
        freeze_heap()
        young, older, oldest = gc.get_threshold()
        assert young == max(SERVING_GC_THRESHOLD, before[0])
        assert (older, oldest) == before[1:]
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
