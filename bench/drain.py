"""Horizontal scale: how fast one and two `chirp worker` processes drain the same backlog.

With no worker running, posts from authors with --followers followers each queue their jobs
(fan-out and indexing); then K workers start and the clock runs until every stream's backlog
(`chirp_job_backlog` on /metrics) is zero. K = 1 and K = 2 alternate for --repeats rounds on
the same server, each round with a fresh backlog of --posts posts, and the medians are
compared: the baseline is one worker, measured in the same run.

    eval "$(scripts/services env)"; .venv/bin/python bench/drain.py [--posts 600]
"""

from __future__ import annotations

import argparse
import asyncio
import time

import stack


async def _backlog_of(stack_: stack.Stack, posts: int, authors: list[int], n: int) -> float:
    """Post `posts` tweets with no worker running; returns the backlog it left."""
    async with stack_.http() as http:
        await stack.bounded(
            (
                stack.post_tweet(http, stack_.token(authors[i % len(authors)]), f"drain {n}.{i}")
                for i in range(posts)
            ),
            32,
            "posts",
        )
        backlog = await stack_.backlog(http)
    assert backlog is not None, "the server's /metrics has no chirp_job_backlog"
    return backlog


async def _drain(stack_: stack.Stack, workers: int, timeout_s: float, jobs: float) -> float:
    """Seconds from the first job taken (process start-up excluded) to an empty backlog."""
    spawned = []
    for n in range(workers):
        stack_._spawn(f"drain-worker{n}", ["worker"], worker_id=900 + n)
        spawned.append(stack_.processes[-1])
    try:
        async with stack_.http() as http:
            limit = time.monotonic() + 60
            while time.monotonic() < limit:  # the workers are starting
                if (await stack_.backlog(http)) != jobs:
                    break
                await asyncio.sleep(0.02)
            started = time.monotonic()
            while (await stack_.backlog(http)) != 0:
                stack_.check_alive()
                if time.monotonic() - started > timeout_s:
                    raise RuntimeError(f"{workers} worker(s) did not drain within {timeout_s} s")
                await asyncio.sleep(0.1)
        return time.monotonic() - started
    finally:
        for process in spawned:
            process.terminate()
        for process in spawned:
            process.wait(timeout=30)
            stack_.processes.remove(process)


async def _body(stack_: stack.Stack, args: argparse.Namespace) -> None:
    authors = await stack_.create_users(args.authors, "author")
    pool = await stack_.create_users(args.follower_pool, "reader")
    edges = [
        (pool[(a * 7919 + k) % len(pool)], author)
        for a, author in enumerate(authors)
        for k in range(args.followers)
    ]
    await stack_.follow_all(list(dict.fromkeys(edges)))
    rates: dict[int, list[float]] = {1: [], 2: []}
    for round_ in range(args.repeats):
        for workers in (1, 2):
            jobs = await _backlog_of(stack_, args.posts, authors, round_ * 10 + workers)
            seconds = await _drain(stack_, workers, args.timeout, jobs)
            rates[workers].append(jobs / seconds)
            print(f"  round {round_}: {workers} worker(s): {jobs:.0f} jobs in {seconds:.1f} s")
    one, two = stack.median(rates[1]), stack.median(rates[2])
    print(
        f"\n{args.posts} posts a round ({args.authors} authors x {args.followers} followers), "
        f"{args.repeats} rounds, medians:"
    )
    print(f"  1 worker  (baseline)  {one:8.1f} jobs/s")
    print(f"  2 workers             {two:8.1f} jobs/s")
    print(f"  ratio 2 / 1: {two / one:.2f}   (goal: about 2)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--posts", type=int, default=600)
    parser.add_argument("--authors", type=int, default=50)
    parser.add_argument("--followers", type=int, default=50)
    parser.add_argument("--follower-pool", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=600, help="seconds per drain")
    stack.add_common_options(parser, workers=0)
    args = parser.parse_args()
    stack.run(args, lambda s: _body(s, args), {"CHIRP_RUN_WORKERS": "0"})


if __name__ == "__main__":
    main()
