"""gateway.chain_work: the embedded chain's work runs on the event loop (in steps, serving
other tasks between them), a node's in a worker thread; a cancelled transaction lets go of
the chain's send lock."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Generator, Iterator
from types import SimpleNamespace

import pytest
from web3.types import TxReceipt

from contracts import Chain, connect
from gateway.chain_work import chain_steps, chain_work


@pytest.fixture(scope="module")
def chain() -> Iterator[Chain]:
    c = connect()
    yield c
    c.close()


def _transfer(chain: Chain, to: str) -> Generator[None, None, TxReceipt]:
    return chain.transact_steps(chain._faucet, {"to": to, "value": 1}, gas=21_000)  # type: ignore[arg-type]


def test_embedded_chain_work_runs_on_the_loop_and_a_nodes_in_a_thread(chain: Chain) -> None:
    node = SimpleNamespace(embedded=False)

    async def main() -> tuple[int, int, int]:
        here = threading.get_ident()
        inline = await chain_work(chain, threading.get_ident)
        away = await chain_work(node, threading.get_ident)  # type: ignore[arg-type]
        return here, inline, away

    here, inline, away = asyncio.run(main())
    assert inline == here and away != here


def test_a_transaction_in_steps_lets_other_tasks_run_between_them(chain: Chain) -> None:
    to = Chain.new_account().address

    async def main() -> tuple[int, int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        before = ticks
        receipt = await chain_steps(chain, _transfer(chain, to))
        task.cancel()
        return ticks - before, int(receipt["status"])

    ran, status = asyncio.run(main())
    assert status == 1 and chain.balance(to) == 1
    assert ran >= 2  # after signing and after sending


def test_a_cancelled_transaction_releases_the_send_lock(chain: Chain) -> None:
    to = Chain.new_account().address

    async def main() -> None:
        task = asyncio.create_task(chain_steps(chain, _transfer(chain, to)))
        await asyncio.sleep(0)  # the first step ran: signed, lock held
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    done: list[int] = []
    other = threading.Thread(target=lambda: done.append(
        int(chain.transact(chain._faucet, {"to": to, "value": 2}, gas=21_000)["status"])))  # type: ignore[arg-type]
    other.start()
    other.join(timeout=20)
    assert done == [1] and chain.balance(to) == 2  # the cancelled one was never sent


def test_a_chain_busy_in_another_thread_never_blocks_the_loop(chain: Chain) -> None:
    to = Chain.new_account().address
    held, release = threading.Event(), threading.Event()

    def hold() -> None:  # another thread in the middle of a long chain call
        with chain._tester_lock():
            held.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(5)

    async def main() -> tuple[int, int, int]:
        loop = asyncio.get_running_loop()
        loop.call_later(0.3, release.set)
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        task = asyncio.create_task(ticker())
        head = await chain_work(chain, chain.block_number)  # waits in a worker thread
        receipt = await chain_steps(chain, _transfer(chain, to))  # waits on the loop
        task.cancel()
        return head, int(receipt["status"]), ticks

    head, status, ticks = asyncio.run(main())
    holder.join()
    assert head >= 0 and status == 1
    assert ticks >= 10  # the loop kept running for the 0.3 s the chain was held
