"""Sustained ingest: post at a fixed rate and time each post's delivery into stored timelines.

--authors authors (200) each have --followers followers (50), drawn from a pool of
--follower-pool users (2,000), so every post is --followers timeline inserts. For each rate
in --rates (posts/s, e.g. 50,100,200) the bench posts open-loop for --duration seconds
(60), author after author, over HTTP postTweet. Up to --observers (20) followers watch:
every post by an author one of them follows is a sample, and its delivery latency is the
time from the post's HTTP response until the tweet is in the observer's home timeline in
the timeline store itself (Cassandra, or SQLite embedded; not the Redis cache). Each
observer's timeline is read every --poll-interval seconds (0.2), newest first down to its
oldest undelivered sample, so the bench's own reads stay light next to the fan-out.

After each step the backlog must drain: the sum of `chirp_job_backlog{stream=...}` on the
server's /metrics must reach 0 within --drain seconds (10) of the last post; a server
without that metric is judged by "every sampled post delivered" within the same 10 s.
A rate passes when the delivery p99 is at most --p99-goal (5 s) and the backlog drained;
samples never delivered count as infinitely late. Stepping stops at the first failing
rate (its backlog would spoil the next; --keep-going runs them all). The goal is 200
posts/s (10,000 timeline inserts/s).

Baseline, in the same run, after the steps: the rate the same server accepts postTweet
closed-loop (--baseline-clients concurrent clients for --baseline-seconds, authors with no
followers): the front door's own ceiling, i.e. the highest post rate any pipeline behind
it could be asked to sustain here. The ratio (highest passing rate / accepted rate) says
how much of it the delivery pipeline keeps up with. Machines are noisy: the baseline is
the median of --baseline-rounds rounds; a step is one measurement over its whole duration.

    eval "$(scripts/services env)"    # or nothing: the embedded default
    .venv/bin/python bench/ingest.py [--rates 50,100,200] [--duration 60] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import time
from dataclasses import dataclass, field

import httpx2
import stack

from storage.ports import TimelineStore
from storage.records import TimelineKind

MAX_IN_FLIGHT = 1_000  # posts awaiting a response; past it the client, not the server, lags
POLL_PAGE = 100  # timeline entries per poll read


@dataclass
class Sample:
    follower: int
    sent: float
    answered: float = math.nan
    tweet_id: int = 0
    failed: bool = False
    delivered: float = math.nan


@dataclass
class Step:
    rate: float
    posted: int = 0
    failed: int = 0
    skipped: int = 0  # not sent: MAX_IN_FLIGHT posts were already waiting
    samples: list[Sample] = field(default_factory=list)
    post_seconds: float = 0.0
    drained_after: float = math.inf  # seconds after the last post
    backlog_metric: bool = False

    def latencies(self) -> list[float]:
        return [
            s.delivered - s.answered if not math.isnan(s.delivered) else math.inf
            for s in self.samples
            if s.tweet_id
        ]

    def post_latencies(self) -> list[float]:
        return [s.answered - s.sent for s in self.samples if s.tweet_id]


class Poller:
    """Reads the observers' stored home timelines, newest first, down to their oldest
    undelivered sample: one page read per observer per --poll-interval, however many posts
    are in flight, so the measuring stays light next to the fan-out it measures."""

    def __init__(self, timelines: TimelineStore, args: argparse.Namespace) -> None:
        self._timelines = timelines
        self._args = args
        self.waiting: list[Sample] = []

    async def _check(self, follower: int, samples: list[Sample], sem: asyncio.Semaphore) -> None:
        # Timeline order is (created_at, tweet_id) with created_at taken from the id, so
        # ids compare as positions do: stop paging below the oldest sample waited for.
        oldest = min(s.tweet_id for s in samples)
        wanted = {s.tweet_id: s for s in samples}
        after = None
        async with sem:
            while True:
                started = time.monotonic()
                page = await self._timelines.page(TimelineKind.HOME, follower, POLL_PAGE, after)
                seen = (started + time.monotonic()) / 2
                for entry in page:
                    if (sample := wanted.get(entry.tweet_id)) is not None:
                        sample.delivered = seen
                if len(page) < POLL_PAGE or page[-1].tweet_id <= oldest:
                    return
                after = (page[-1].created_at, page[-1].tweet_id)

    async def run(self, stop: asyncio.Event) -> None:
        semaphore = asyncio.Semaphore(self._args.poll_concurrency)
        while not stop.is_set():
            by_follower: dict[int, list[Sample]] = {}
            for s in self.waiting:
                if s.tweet_id and math.isnan(s.delivered):
                    by_follower.setdefault(s.follower, []).append(s)
            started = time.monotonic()
            await asyncio.gather(
                *(self._check(f, samples, semaphore) for f, samples in by_follower.items())
            )
            self.waiting = [s for s in self.waiting if math.isnan(s.delivered) and not s.failed]
            pause = self._args.poll_interval - (time.monotonic() - started)
            if pause > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), pause)


async def _post(
    http: httpx2.AsyncClient, token: str, sample: Sample, step: Step, text: str
) -> None:
    try:
        sample.tweet_id = await stack.post_tweet(http, token, text)
        sample.answered = time.monotonic()
        step.posted += 1
    except Exception as error:  # counted, and the step goes on
        sample.failed = True
        step.failed += 1
        if step.failed <= 3:
            print(f"    post failed: {error}")


async def _step(
    stack_: stack.Stack,
    timelines: TimelineStore,
    rate: float,
    authors: list[int],
    observer_of: dict[int, int],
    args: argparse.Namespace,
) -> Step:
    step = Step(rate)
    poller = Poller(timelines, args)
    stop = asyncio.Event()
    polling = asyncio.create_task(poller.run(stop))
    tokens = {a: stack_.token(a) for a in authors}
    in_flight: set[asyncio.Task[None]] = set()
    total = int(rate * args.duration)
    async with stack_.http(256) as http:
        started = time.monotonic()
        for n in range(total):
            delay = started + n / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if n % 200 == 0:
                stack_.check_alive()
            if len(in_flight) >= MAX_IN_FLIGHT:
                step.skipped += 1
                continue
            author = authors[n % len(authors)]
            sample = Sample(observer_of.get(author, 0), time.monotonic())
            if sample.follower:  # a post whose delivery is watched
                step.samples.append(sample)
                poller.waiting.append(sample)
            text = f"ingest {rate:g}/s post {n} by {author} #bench"
            task = asyncio.create_task(_post(http, tokens[author], sample, step, text))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        if in_flight:
            await asyncio.wait(in_flight, timeout=60)
        ended = time.monotonic()
        step.post_seconds = ended - started
        step.drained_after, step.backlog_metric = await _drain(stack_, http, poller, ended, args)
    for _ in range(math.ceil(args.settle / 0.2)):
        if not poller.waiting:
            break
        await asyncio.sleep(0.2)
    stop.set()
    await polling
    return step


async def _drain(
    stack_: stack.Stack,
    http: httpx2.AsyncClient,
    poller: Poller,
    ended: float,
    args: argparse.Namespace,
) -> tuple[float, bool]:
    """Seconds after `ended` until the backlog was 0 (inf if not within --drain)."""
    metric = False
    while time.monotonic() < ended + args.drain:
        backlog = await stack_.backlog(http)
        metric = backlog is not None
        if (backlog == 0) if metric else not poller.waiting:
            return time.monotonic() - ended, metric
        await asyncio.sleep(0.1)
    return math.inf, metric


async def _accepted_rate(
    stack_: stack.Stack, authors: list[int], seconds: float, clients: int
) -> float:
    done = 0
    stop = time.monotonic() + seconds
    async with stack_.http(clients) as http:

        async def client(author: int) -> None:
            nonlocal done
            token = stack_.token(author)
            while time.monotonic() < stop:
                await stack.post_tweet(http, token, f"baseline post {done} #bench")
                done += 1

        started = time.monotonic()
        await asyncio.gather(*(client(authors[i % len(authors)]) for i in range(clients)))
        return done / (time.monotonic() - started)


def _print_step(step: Step, args: argparse.Namespace) -> bool:
    lat = step.latencies()
    p50, p99 = stack.quantile(lat, 0.5), stack.quantile(lat, 0.99)
    delivered = sum(1 for v in lat if not math.isinf(v))
    posts = stack.quantile(step.post_latencies(), 0.5), stack.quantile(step.post_latencies(), 0.99)
    achieved = step.posted / step.post_seconds if step.post_seconds else 0.0
    drained = step.drained_after <= args.drain
    ok = p99 <= args.p99_goal and drained and step.failed == 0 and step.skipped == 0
    how = "backlog metric" if step.backlog_metric else "all samples delivered (no backlog metric)"
    print(
        f"  {step.rate:6g} posts/s: sent {step.posted} ({achieved:.0f}/s, {step.failed} failed, "
        f"{step.skipped} not sent), postTweet p50 {stack.ms(posts[0])} p99 {stack.ms(posts[1])}\n"
        f"           delivery p50 {stack.ms(p50)} p99 {stack.ms(p99)} "
        f"({delivered}/{len(lat)} samples delivered); drained: "
        f"{'yes after ' + stack.ms(step.drained_after) if drained else 'no'} [{how}]"
        f"  -> {'PASS' if ok else 'fail'}",
        flush=True,
    )
    return ok


async def _body(stack_: stack.Stack, args: argparse.Namespace) -> None:
    rates = [float(r) for r in args.rates.split(",")]
    authors = await stack_.create_users(args.authors, "author")
    pool = await stack_.create_users(args.follower_pool, "reader")
    followers_of = {
        a: [pool[(n * args.followers + k) % len(pool)] for k in range(args.followers)]
        for n, a in enumerate(authors)
    }
    await stack_.follow_all([(f, a) for a, fs in followers_of.items() for f in fs])
    # Each observer is the first follower of the authors it watches for.
    observers = set(list(dict.fromkeys(fs[0] for fs in followers_of.values()))[: args.observers])
    observer_of = {a: fs[0] for a, fs in followers_of.items() if fs[0] in observers}
    quiet = await stack_.create_users(args.baseline_clients, "quiet")
    timelines = await stack_.stored_timelines()
    print(f"  warm-up: {args.warmup:g} s at {rates[0]:g} posts/s", flush=True)
    warm = argparse.Namespace(**{**vars(args), "duration": args.warmup, "settle": args.drain})
    await _step(stack_, timelines, rates[0], authors, observer_of, warm)
    steps: list[tuple[Step, bool]] = []
    for rate in rates:
        step = await _step(stack_, timelines, rate, authors, observer_of, args)
        steps.append((step, _print_step(step, args)))
        if not steps[-1][1] and not args.keep_going:
            print("  (stopping at the first failing rate; --keep-going runs the rest)")
            break
    accepted = [
        await _accepted_rate(stack_, quiet, args.baseline_seconds, args.baseline_clients)
        for _ in range(args.baseline_rounds)
    ]
    best = max((s.rate for s, ok in steps if ok), default=0.0)
    base = stack.median(accepted)
    print(
        f"\n{args.authors} authors x {args.followers} followers (pool {args.follower_pool}), "
        f"{args.duration:g} s per rate, {args.workers} worker process(es):"
    )
    print(
        f"  postTweet accepted, {args.baseline_clients} clients closed-loop (baseline): "
        f"{base:.0f} posts/s  (rounds: {', '.join(f'{a:.0f}' for a in accepted)})"
    )
    print(
        f"  highest rate with delivery p99 <= {args.p99_goal:g} s and backlog drained "
        f"<= {args.drain:g} s: {best:g} posts/s = {best * args.followers:.0f} timeline inserts/s"
    )
    print(f"  ratio sustained / accepted: {best / base:.2f}   (goal: 200 posts/s sustained)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rates", default="50,100,200", help="posts/s, comma-separated steps")
    parser.add_argument("--duration", type=float, default=60, help="seconds of posting per rate")
    parser.add_argument("--authors", type=int, default=200)
    parser.add_argument("--followers", type=int, default=50, help="followers per author")
    parser.add_argument("--follower-pool", type=int, default=2_000)
    parser.add_argument("--p99-goal", type=float, default=5.0)
    parser.add_argument("--drain", type=float, default=10.0, help="seconds for the backlog")
    parser.add_argument("--settle", type=float, default=30.0, help="seconds to await samples")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds at the first rate")
    parser.add_argument(
        "--keep-going", action="store_true", help="run the higher rates after a failing one"
    )
    parser.add_argument(
        "--observers", type=int, default=20, help="followers whose timelines are read"
    )
    parser.add_argument("--poll-interval", type=float, default=0.2)
    parser.add_argument("--poll-concurrency", type=int, default=8)
    parser.add_argument("--baseline-seconds", type=float, default=5.0)
    parser.add_argument("--baseline-rounds", type=int, default=3)
    parser.add_argument("--baseline-clients", type=int, default=16)
    stack.add_common_options(parser)
    args = parser.parse_args()
    stack.run(args, lambda s: _body(s, args))


if __name__ == "__main__":
    main()
