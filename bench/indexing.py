"""Indexing rate: tweets made searchable per second through the product, against raw bulk.

Product: --clients concurrent clients post --tweets tweets (1,000) over HTTP postTweet
from --authors authors (no followers: their fan-out jobs are trivial, so the index jobs
are what is measured; the pipeline runs as in production). Every text carries a word of
its own for the repeat. The time runs from the first post's send until a count query on
the run's alias finds all of them searchable, checked every --poll-interval seconds
(Elasticsearch makes documents searchable on refresh; the product's writes wait for it).
The last repeat is cross-checked through the product's own SearchIndex.search.

Baseline, in the same run from this process: elasticsearch.helpers.async_bulk of the same
number of documents of the same mapping and shape into a scratch index of the run, timed
until a count finds them all (one refresh, as a bulk client would). Repeats alternate
product and raw (--repeats, 3); medians and the ratio product / raw are reported.
Needs Elasticsearch (the real engines).

    eval "$(scripts/services env)"
    .venv/bin/python bench/indexing.py [--tweets 1000] [--repeats 3] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import time

import stack
from elasticsearch import AsyncElasticsearch
from elasticsearch.helpers import async_bulk

from storage.elasticsearch import MAPPINGS
from storage.records import SearchQuery

WORDS = [
    "sun",
    "rain",
    "river",
    "city",
    "music",
    "coffee",
    "train",
    "garden",
    "market",
    "winter",
    "bridge",
    "story",
]


def _text(rng: random.Random, word: str, n: int) -> str:
    body = " ".join(rng.choice(WORDS) for _ in range(8))
    return f"{word} {body} number {n} #bench #{rng.choice(WORDS)}"


async def _count(client: AsyncElasticsearch, index: str, word: str) -> int:
    found = await client.count(index=index, query={"match": {"text": word}})
    return int(found["count"])


async def _until_searchable(
    stack_: stack.Stack,
    client: AsyncElasticsearch,
    index: str,
    word: str,
    n: int,
    args: argparse.Namespace,
) -> tuple[float, int]:
    """(monotonic time when all n were found, or inf; how many were found)."""
    found = 0
    for _ in range(math.ceil(args.timeout / args.poll_interval)):
        found = await _count(client, index, word)
        if found >= n:
            return time.monotonic(), found
        stack_.check_alive()
        await asyncio.sleep(args.poll_interval)
    return math.inf, found


async def _product(
    stack_: stack.Stack,
    client: AsyncElasticsearch,
    authors: list[int],
    repeat: int,
    args: argparse.Namespace,
) -> tuple[float, float, str]:
    """(documents/s, seconds spent posting, the repeat's word)."""
    word = f"prod{repeat}x{stack_.stamp.replace('_', '')}".lower()
    rng = random.Random(repeat)
    texts = [_text(rng, word, n) for n in range(args.tweets)]
    queue = list(enumerate(texts))
    async with stack_.http(args.clients) as http:

        async def client_loop(slot: int) -> None:
            token = stack_.token(authors[slot % len(authors)])
            while queue:
                _, text = queue.pop()
                await stack.post_tweet(http, token, text)

        started = time.monotonic()
        await asyncio.gather(*(client_loop(c) for c in range(args.clients)))
        posted = time.monotonic() - started
    done, found = await _until_searchable(stack_, client, stack_.stamp, word, args.tweets, args)
    if math.isinf(done):
        print(f"  repeat {repeat}: only {found}/{args.tweets} searchable after {args.timeout:g} s")
        return found / (time.monotonic() - started), posted, word
    return args.tweets / (done - started), posted, word


async def _raw(
    stack_: stack.Stack, client: AsyncElasticsearch, repeat: int, args: argparse.Namespace
) -> float:
    index = f"{stack_.stamp}-raw"
    word = f"raw{repeat}x{stack_.stamp.replace('_', '')}".lower()
    rng = random.Random(repeat)
    now_ms = int(time.time() * 1000)
    actions = [
        {
            "_op_type": "index",
            "_index": index,
            "_id": str(repeat * 10_000_000 + n),
            "_source": {
                "tweet_id": repeat * 10_000_000 + n,
                "author_id": 1,
                "text": _text(rng, word, n),
                "hashtags": ["bench"],
                "mentions": [],
                "language": None,
                "created_at": now_ms,
                "protected": False,
            },
        }
        for n in range(args.tweets)
    ]
    started = time.monotonic()
    await async_bulk(client, actions)
    await client.indices.refresh(index=index)
    done, _ = await _until_searchable(stack_, client, index, word, args.tweets, args)
    return args.tweets / (done - started)


async def _body(stack_: stack.Stack, args: argparse.Namespace) -> None:
    if stack_.search_alias is None:
        raise SystemExit('indexing.py needs Elasticsearch: eval "$(scripts/services env)" first')
    authors = await stack_.create_users(args.authors, "author")
    product: list[float] = []
    raw: list[float] = []
    posting: list[float] = []
    async with stack_.elasticsearch() as client:
        await client.indices.create(index=f"{stack_.stamp}-raw", mappings=MAPPINGS)
        async with stack_.http(2) as http:
            await stack.post_tweet(http, stack_.token(authors[0]), "warm-up #bench")
        for repeat in range(1, args.repeats + 1):
            raw.append(await _raw(stack_, client, repeat, args))
            rate, posted, word = await _product(stack_, client, authors, repeat, args)
            product.append(rate)
            posting.append(posted)
            print(
                f"  repeat {repeat}: product {rate:7.1f} docs/s (posting took {posted:.1f} s), "
                f"raw bulk {raw[-1]:7.0f} docs/s",
                flush=True,
            )
    assert stack_.stores is not None
    hits = await stack_.stores.search.search(SearchQuery(words=(word,)), 20)
    p, r = stack.median(product), stack.median(raw)
    print(
        f"\n{args.tweets} tweets per repeat by {args.authors} authors, {args.clients} clients, "
        f"{args.repeats} repeats, {args.workers} worker process(es), medians:"
    )
    print(f"  raw async_bulk + refresh (baseline)  {r:9.0f} docs/s   ({_list(raw)})")
    print(f"  postTweet -> searchable              {p:9.1f} docs/s   ({_list(product)})")
    print(f"  posting alone took                   {stack.median(posting):9.1f} s")
    print(f"  SearchIndex.search cross-check: {len(hits)} hits for the last repeat's word")
    print(f"  ratio product / raw: {p / r:.4f}")


def _list(values: list[float]) -> str:
    return ", ".join(f"{v:.1f}" for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tweets", type=int, default=1_000)
    parser.add_argument("--authors", type=int, default=20)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=600, help="seconds per repeat")
    parser.add_argument("--poll-interval", type=float, default=0.25)
    stack.add_common_options(parser)
    args = parser.parse_args()
    stack.run(args, lambda s: _body(s, args))


if __name__ == "__main__":
    main()
