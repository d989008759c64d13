"""The read path (issue #21): store round trips per page (P1) and page throughput against
the floor of the same server (P2), on the embedded default or, with the real engines'
variables set (`eval "$(scripts/services env)"`), on the real engines (bench/stack.py).

Seeds 20 authors with 10 tweets each, 50 readers who follow all of them, 20 replies to one
tweet and 100 likes by one reader, through `postTweet` and `likeTweet` (the worker fans out
and indexes), then:

P1, store round trips per page: the home, profile, replies, search and likes pages with
`first` 1, 20 and 100, each with author, counts and `viewerHasLiked`. Cold is the first
request after `chirp serve` restarted (on the real engines the run's Redis caches are
emptied too: every key but the job streams); warm is the same request again (the median of
three). A round trip is a store or cache call, read from the server's own
`chirp_store_calls_total` before and after the one request. The baseline is
`{ __typename }`, which makes none. Goal: the same for every `first`, and at most 3 warm.

P2, page throughput: wrk (Debian's `wrk`; an HTTP/1.1 load generator in C, far from being
the bottleneck here) with 16 connections for a fixed time per round drives
`homeTimeline(first: 20)` through the 50 readers and each one's page cursors in turn, so
no two requests in a row ask the same page of the same reader, against `{ __typename }` on
the same server. Rounds alternate; medians. Goal: a ratio of at least 0.5. P2 runs twice:
with the compiled execution path (app/compiled.py, the default) and with graphql-core's
(the server restarted with CHIRP_EXECUTION=graphql-core), each against its own floor.

    .venv/bin/python bench/reads.py [--seconds 5] [--rounds 3] [--connections 16] [--quick]
        [--record]   (writes the figures into docs/PERFORMANCE.md, section of the profile)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx2
from stack import Stack, add_common_options, post_tweet, run

from schema.node import to_global_id

TWEET_FIELDS = """id text createdAt likeCount retweetCount replyCount viewerHasLiked
  author { username displayName }"""
PAGE = f"edges {{ cursor node {{ {TWEET_FIELDS} }} }}"
PAGES = {
    "home": f"query($n: Int!) {{ homeTimeline(first: $n) {{ {PAGE} }} }}",
    "profile": f"""query($n: Int!, $u: String!) {{ user(username: $u) {{ displayName
        followersCount tweets(first: $n) {{ {PAGE} }} }} }}""",
    "replies": f"""query($n: Int!, $t: ID!) {{ tweet(id: $t) {{
        replies(first: $n) {{ {PAGE} }} }} }}""",
    "search": f'query($n: Int!) {{ search(query: "seeded", first: $n) {{ {PAGE} }} }}',
    "likes": f"""query($n: Int!, $u: String!) {{ user(username: $u) {{
        likes(first: $n) {{ {PAGE} }} }} }}""",
}
FLOOR = "{ __typename }"
LIKE = "mutation($t: ID!) { likeTweet(id: $t) { id } }"
POST_TEXT = "mutation($t: String!) { postTweet(input: {text: $t}) { id } }"
TWEET_BY_ID = f"query($t: ID!) {{ tweet(id: $t) {{ {TWEET_FIELDS} }} }}"
HOME_PAGE = f"query($after: String) {{ homeTimeline(first: 20, after: $after) {{ {PAGE} }} }}"
SIZES = (1, 20, 100)
PERFORMANCE = Path(__file__).resolve().parent.parent / "docs" / "PERFORMANCE.md"
AUTHORS, TWEETS_EACH, READERS, REPLIES, LIKES = 20, 10, 50, 20, 100
_RATE = re.compile(r"^Requests/sec:\s+([0-9.]+)", re.M)
_SENT = re.compile(r"^\s*(\d+) requests in", re.M)


class Seeded:
    def __init__(self) -> None:
        self.authors: list[str] = []  # usernames
        self.readers: list[tuple[str, str]] = []  # (username, token)
        self.replied: str = ""  # the global id of the tweet with replies


async def _gql(
    http: httpx2.AsyncClient, query: str, token: str | None = None, **variables: Any
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(body["errors"])
    return dict(body["data"])


async def seed(stack: Stack, http: httpx2.AsyncClient) -> Seeded:
    seeded = Seeded()
    authors = await stack.create_users(AUTHORS, "author")
    readers = await stack.create_users(READERS, "reader")
    await stack.follow_all([(r, a) for r in readers for a in authors])
    seeded.authors = [f"author{n}" for n in range(AUTHORS)]
    seeded.readers = [(f"reader{n}", stack.token(r)) for n, r in enumerate(readers)]
    posted: list[int] = []
    for n, author in enumerate(authors):
        for t in range(TWEETS_EACH):
            text = f"seeded tweet {t} by author{n} #bench"
            posted.append(await post_tweet(http, stack.token(author), text))
    seeded.replied = _global_id(posted[-1])
    for n in range(REPLIES):
        _, token = seeded.readers[n % READERS]
        await _gql(
            http,
            "mutation($i: PostTweetInput!) { postTweet(input: $i) { id } }",
            token,
            i={"text": f"reply {n}", "replyToId": seeded.replied},
        )
    _, liker = seeded.readers[0]
    for tweet_id in posted[:LIKES]:
        await _gql(http, LIKE, liker, t=_global_id(tweet_id))
    for _ in range(3000):  # the worker's fan-out and indexing, within 10 minutes
        if (await stack.backlog(http)) == 0:
            return seeded
        await asyncio.sleep(0.2)
    raise RuntimeError("the seeded jobs did not finish in 10 minutes")


def _global_id(database_id: int) -> str:
    return str(to_global_id("Tweet", database_id))


LAST: dict[str, Counter[str]] = {}  # the last request's calls by method, per page


async def _round_trips(
    http: httpx2.AsyncClient, stack: Stack, query: str, token: str, variables: dict[str, Any]
) -> int:
    """The store and cache calls the server made for this one request (its session and
    read budget included)."""
    before = await stack.store_calls(http)
    await _gql(http, query, token, **variables)
    calls = await stack.store_calls(http) - before
    LAST[query] = calls
    return sum(calls.values())


async def _empty_caches(stack: Stack) -> None:
    """The run's Redis database without its cached entries; the job streams stay."""
    if stack.redis_url is None:
        return  # the embedded default's caches live in the server: its restart empties them
    async with stack.redis() as redis:
        async for key in redis.scan_iter(count=1000):
            if not key.startswith(b"chirp:jobs"):
                await redis.delete(key)


async def p1(stack: Stack, seeded: Seeded, quick: bool) -> dict[str, dict[str, list[int]]]:
    """{page: {"cold": [calls by size], "warm": [...]}}, plus the floor's."""
    reader, token = seeded.readers[0]
    variables = {
        "home": {},
        "profile": {"u": seeded.authors[0]},
        "replies": {"t": seeded.replied},
        "search": {},
        "likes": {"u": reader},
    }
    found: dict[str, dict[str, list[int]]] = {}
    sizes = SIZES[1:2] if quick else SIZES
    async with stack.http(4) as http:
        for page, query in PAGES.items():
            found[page] = {"cold": [], "warm": []}
            for size in sizes:
                await stack.restart_server()
                await _empty_caches(stack)
                asked = {"n": size, **variables[page]}
                found[page]["cold"].append(await _round_trips(http, stack, query, token, asked))
                warm = [await _round_trips(http, stack, query, token, asked) for _ in range(3)]
                found[page]["warm"].append(round(statistics.median(warm)))
        floor = [await _round_trips(http, stack, FLOOR, token, {}) for _ in range(3)]
    found["floor"] = {"cold": [0], "warm": [round(statistics.median(floor))]}
    return found


async def cursors(stack: Stack, seeded: Seeded) -> list[tuple[str, str | None]]:
    """(token, cursor) of every page of every reader's home timeline."""
    asked: list[tuple[str, str | None]] = []
    async with stack.http(4) as http:
        for _, token in seeded.readers:
            after: str | None = None
            while True:
                asked.append((token, after))
                page = await _gql(http, HOME_PAGE, token, after=after)
                edges = page["homeTimeline"]["edges"]
                if len(edges) < 20:
                    break
                after = edges[-1]["cursor"]
    return asked


def wrk_script(folder: Path, name: str, requests: list[tuple[str, dict[str, Any]]]) -> Path:
    """A wrk script sending these (token, body) requests in turn, each thread from its own
    place, and counting any answer that is not a 200 without errors."""
    lua = folder / f"{name}.lua"
    entries = ",\n".join(
        f"  {{{json.dumps(token)}, {json.dumps(json.dumps(body))}}}" for token, body in requests
    )
    lua.write_text(
        f"""local requests = {{
{entries}
}}
local i = 0
local failed = 0
init = function(args) i = math.random(#requests) end
request = function()
  i = i % #requests + 1
  local r = requests[i]
  return wrk.format("POST", "/graphql",
    {{["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. r[1]}}, r[2])
end
response = function(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) then failed = failed + 1 end
end
done = function(summary, latency, requests) io.write("failed: " .. failed .. "\\n") end
"""
    )
    return lua


def wrk(base: str, script: Path, seconds: float, connections: int) -> tuple[int, float]:
    """Run wrk with a script of wrk_script's; (requests sent, requests per second). Any
    failed request fails the run."""
    out = subprocess.run(
        ["wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds:g}s", "-s", str(script), base],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "failed: 0" not in out:
        raise RuntimeError(f"requests failed under wrk:\n{out}")
    sent, rate = _SENT.search(out), _RATE.search(out)
    if sent is None or rate is None:
        raise RuntimeError(f"wrk printed no count or rate:\n{out}")
    return int(sent.group(1)), float(rate.group(1))


async def p2(
    stack: Stack,
    seeded: Seeded,
    args: argparse.Namespace,
    processes: int = 1,
    env: dict[str, str] | None = None,
) -> dict[str, list[float]]:
    """Rates of the floor and the home page, `args.rounds` each, alternating, with
    `chirp serve --workers processes` and the settings `env`."""
    if shutil.which("wrk") is None:
        raise SystemExit("P2 needs wrk: apt-get install wrk (or make bench, which installs it)")
    await stack.restart_server(processes, env)
    pages = [
        (token, {"query": HOME_PAGE, "variables": {"after": after}})
        for token, after in await cursors(stack, seeded)
    ]
    _, token = seeded.readers[0]
    folder = Path(tempfile.mkdtemp(prefix="chirp-wrk-"))
    try:
        scripts = {
            "floor": wrk_script(folder, "floor", [(token, {"query": FLOOR})]),
            "home": wrk_script(folder, "home", pages),
        }
        wrk(stack.base, scripts["home"], 1, args.connections)  # warm caches and connections
        rates: dict[str, list[float]] = {"floor": [], "home": []}
        for _ in range(args.rounds):
            for name, script in scripts.items():
                _, rate = await asyncio.to_thread(
                    wrk, stack.base, script, args.seconds, args.connections
                )
                rates[name].append(rate)
        rates["pages"] = [float(len(pages))]
        return rates
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def report(
    stack: Stack, args: argparse.Namespace, trips: dict[str, Any], rates: dict[str, Any]
) -> str:
    sizes = SIZES[1:2] if args.quick else SIZES
    lines = [f"bench/reads.py on the {stack.describe()}.", ""]
    lines += ["P1, store round trips per page:", ""]
    header = "| page | " + " | ".join(f"first {n} cold | first {n} warm" for n in sizes) + " |"
    lines += [header, "|---" * (1 + 2 * len(sizes)) + "|"]
    for page, found in trips.items():
        if page == "floor":
            continue
        cells = [f"{c} | {w}" for c, w in zip(found["cold"], found["warm"], strict=True)]
        lines.append(f"| {page} | " + " | ".join(cells) + " |")
    lines.append(f"| `{{ __typename }}` (baseline) | {trips['floor']['warm'][0]} |")
    warm = [w for page, f in trips.items() if page != "floor" for w in f["warm"]]
    lines += ["", f"Warm maximum {max(warm)} (goal: at most 3, the same for every `first`)."]
    for page in ("home", "floor"):
        calls = LAST.get(PAGES.get(page, FLOOR), Counter())
        by_method = ", ".join(f"{method} {n}" for method, n in sorted(calls.items()))
        lines.append(f"The last {page} request's calls: {by_method or 'none'}.")
    lines += [
        "",
        f"P2, page throughput (wrk, {args.connections} connections, {args.rounds} rounds of "
        f"{args.seconds:g} s, medians; {int(rates['compiled']['pages'][0])} distinct reader "
        "pages), with the compiled execution path (the default) and with graphql-core's "
        "(`CHIRP_EXECUTION=graphql-core`), each against the floor of the same server:",
        "",
        "| execution | `{ __typename }` req/s (baseline) | `homeTimeline(first: 20)` req/s "
        "| ratio | rounds (floor; page) |",
        "|---|---|---|---|---|",
    ]
    ratios = {}
    for mode, found in rates.items():
        floor, home = (statistics.median(found[k]) for k in ("floor", "home"))
        ratios[mode] = home / floor
        lines.append(
            f"| {mode} | {floor:.0f} | {home:.0f} | {home / floor:.2f} | "
            f"{_rounds(found['floor'])}; {_rounds(found['home'])} |"
        )
    pages = {mode: statistics.median(found["home"]) for mode, found in rates.items()}
    lines += [
        "",
        f"Ratio page / floor: {ratios['compiled']:.2f} compiled, {ratios['graphql-core']:.2f} "
        f"graphql-core (goal: at least 0.5); pages compiled / graphql-core: "
        f"{pages['compiled'] / pages['graphql-core']:.2f}.",
    ]
    return "\n".join(lines)


def _rounds(rates: list[float]) -> str:
    return ", ".join(f"{rate:.0f}" for rate in rates)


def record(stack: Stack, text: str, bench: str = "bench/reads.py") -> None:
    """A bench's report into docs/PERFORMANCE.md, in place of its last one on the same
    profile (between its markers), with the date and the machine."""
    profile = "engines" if stack.real else "embedded"
    begin, end = f"<!-- {bench} {profile} -->", f"<!-- /{bench} {profile} -->"
    machine = (
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {os.cpu_count()} "
        f"cores, Python {platform.python_version()}, {platform.platform(terse=True)}."
    )
    section = f"{begin}\n{machine}\n\n{text}\n{end}"
    document = PERFORMANCE.read_text()
    if begin in document:
        before, rest = document.split(begin, 1)
        document = before + section + rest.split(end, 1)[1]
    else:
        document = document.rstrip("\n") + "\n\n" + section + "\n"
    PERFORMANCE.write_text(document)
    print(f"written into {PERFORMANCE}")


async def main(stack: Stack, args: argparse.Namespace) -> None:
    async with stack.http(8) as http:
        seeded = await seed(stack, http)
    trips = await p1(stack, seeded, args.quick)
    rates = {
        "compiled": await p2(stack, seeded, args),
        "graphql-core": await p2(stack, seeded, args, env={"CHIRP_EXECUTION": "graphql-core"}),
    }
    text = report(stack, args, trips, rates)
    print(text)
    if args.record:
        record(stack, text)


def cli() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_common_options(parser)
    add_load_options(parser, rounds=3, quick="first 20 only, 1 s rounds, once")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.rounds = 1.0, 1
    run_load(args, main)


def add_load_options(parser: argparse.ArgumentParser, rounds: int, quick: str) -> None:
    """The options of a bench that drives P2's load with wrk."""
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=rounds)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--quick", action="store_true", help=quick)
    parser.add_argument(
        "--record", action="store_true", help="write the figures into docs/PERFORMANCE.md"
    )


def run_load(
    args: argparse.Namespace, main: Callable[[Stack, argparse.Namespace], Awaitable[None]]
) -> None:
    """`main` on a stack whose read budget P2's load cannot exhaust."""
    run(args, lambda stack: main(stack, args), {"CHIRP_READ_POINTS_PER_HOUR": "1000000000"})


def repeated_cli(
    doc: str | None,
    main: Callable[[Stack, argparse.Namespace], Awaitable[None]],
    more_options: Callable[[argparse.ArgumentParser], None] | None = None,
) -> None:
    """The command line of a bench that repeats P2's load once per setting, --repeats times
    (bench/cores.py, bench/tracing.py)."""
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_common_options(parser)
    if more_options is not None:
        more_options(parser)
    parser.add_argument("--repeats", type=int, default=2)
    add_load_options(parser, rounds=2, quick="1 s rounds, once")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.rounds, args.repeats = 1.0, 1, 1
    run_load(args, main)


if __name__ == "__main__":
    cli()
