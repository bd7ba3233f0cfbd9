"""Dispatcher processes of one pass on SQLite take turns for their database jobs
(:class:`rapport.engine.delivery.dbthread.Turns`): one job at a time over all of them,
and a process killed in its turn does not keep the others waiting."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

from rapport.engine.delivery.dbthread import DatabaseHealth, DatabaseThread, Turns

JOBS = 6


def _jobs_in_a_database_thread(turns: Turns | None, record: Path) -> None:
    """Runs in a forked process: ``JOBS`` jobs on a database thread, each noting in
    ``record`` when it begins and ends, with a pause between the two."""

    def job() -> None:
        with record.open("a", encoding="utf-8") as out:
            out.write(f"{os.getpid()} begin\n")
        time.sleep(0.02)  # room for another process's job to begin meanwhile
        with record.open("a", encoding="utf-8") as out:
            out.write(f"{os.getpid()} end\n")

    async def main() -> None:
        database = DatabaseThread(DatabaseHealth(), turns=turns)
        await asyncio.gather(*(database.submit(job) for _ in range(JOBS)))
        database.close()

    asyncio.run(main())


def _overlapping_jobs(turns: Turns | None, tmp_path: Path) -> int:
    """How many times a process's job began while another process's was running."""
    record = tmp_path / "jobs.txt"
    context = multiprocessing.get_context("fork")
    processes = [
        context.Process(target=_jobs_in_a_database_thread, args=(turns, record)) for _ in range(3)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
        assert process.exitcode == 0
    running: set[str] = set()
    overlaps = 0
    lines = record.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 * JOBS * len(processes)
    for line in lines:
        pid, what = line.split()
        if what == "begin":
            overlaps += bool(running - {pid})
            running.add(pid)
        else:
            running.discard(pid)
    return overlaps


def test_forked_database_threads_sharing_turns_run_one_job_at_a_time(tmp_path: Path) -> None:
    assert _overlapping_jobs(Turns(), tmp_path) == 0


def test_without_turns_the_same_jobs_of_several_processes_overlap(tmp_path: Path) -> None:
    # What the turns prevent: 18 jobs of 20 ms in three processes at once.
    assert _overlapping_jobs(None, tmp_path) > 0


def _hold_turn_forever(turns: Turns, ready: Connection) -> None:
    with turns:
        ready.send("holding")
        time.sleep(600)


def test_a_process_killed_in_its_turn_does_not_keep_the_others_waiting() -> None:
    turns = Turns()
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    holder = context.Process(target=_hold_turn_forever, args=(turns, send))
    holder.start()
    try:
        assert receive.poll(60) and receive.recv() == "holding"
    finally:
        assert holder.pid is not None
        os.kill(holder.pid, signal.SIGKILL)
        holder.join(60)

    taken = threading.Event()

    def take() -> None:
        with turns:
            taken.set()

    # In a thread: should the turn never come, the test fails instead of hanging.
    threading.Thread(target=take, daemon=True).start()
    assert taken.wait(60)
