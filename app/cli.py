"""`chirp serve | worker | migrate | seed | reindex | shards move | users | lifecycle run |
backup | print-schema`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from app.settings import Settings, from_env, redact_urls

log = logging.getLogger("chirp")


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app import serving
    from app.main import create_app

    settings = from_env()
    refused = serving.refusal(settings, args.workers) or _unusable_manifest(settings)
    if refused is not None:
        print(refused, file=sys.stderr)
        return 2
    options: dict[str, Any] = {"log_level": "info", "ws": "websockets-sansio"}
    if args.workers > 1:
        return serving.serve(settings, args.host, args.port, args.workers, **options)
    uvicorn.run(create_app(settings), host=args.host, port=args.port, **options)
    return 0


def _unusable_manifest(settings: Settings) -> str | None:
    from app.persisted import ManifestError, trusted_manifest

    try:
        trusted_manifest(settings.trusted_documents)
    except ManifestError as error:
        return f"CHIRP_TRUSTED_DOCUMENTS: {error}"
    return None


async def _migrate() -> int:
    from storage.registry import migrate_all

    applied = await migrate_all(from_env())
    for url, versions in applied.items():
        print(f"{redact_urls(url)}: {', '.join(versions) if versions else 'up to date'}")
    return 0


async def _worker(args: argparse.Namespace) -> int:
    from app import container
    from app.jobs import STREAMS
    from app.metrics import METRICS
    from app.settings import ensure_secret_key
    from app.tracing import Traces, use_tracer
    from storage.instrumented import counting
    from storage.registry import open_stores

    streams = [s.strip() for s in args.streams.split(",") if s.strip()] if args.streams else STREAMS
    unknown = sorted(set(streams) - set(STREAMS))
    if unknown:
        print(
            f"unknown stream(s) {', '.join(unknown)}; streams: {', '.join(STREAMS)}",
            file=sys.stderr,
        )
        return 2
    settings = ensure_secret_key(from_env())
    traces = Traces(settings.tracing)
    stores = counting(
        await open_stores(settings), METRICS.store_calls, METRICS.store_seconds, traces.tracer
    )
    use_tracer(traces.tracer)  # a span per batch of jobs, with its store calls inside
    try:
        worker = container.build(settings, stores).worker(streams, args.concurrency)
        if args.once:
            await worker.drain()
            return 0
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        log.info("worker started on %s", ", ".join(streams))
        await worker.run(stop)
        return 0
    finally:
        await stores.close()
        traces.shutdown()


async def _seed(args: argparse.Namespace) -> int:
    from app import container
    from app.seed import SeedPlan, seed
    from app.settings import ensure_secret_key
    from storage.registry import open_stores

    settings = ensure_secret_key(from_env())
    stores = await open_stores(settings)
    try:
        plan = SeedPlan(users=args.users, tweets=args.tweets, celebrities=args.celebrities)
        counts = await seed(container.build(settings, stores), plan)
    finally:
        await stores.close()
    print(", ".join(f"{count} {what}" for what, count in counts.items()))
    print("Log in as user0, user1, ... with the password `chirp-demo`.")
    return 0


async def _reindex() -> int:
    from tqdm import tqdm

    from app.services.reindex import Reindex, ReindexUsers
    from app.settings import ensure_secret_key
    from storage.registry import open_stores

    stores = await open_stores(ensure_secret_key(from_env()))
    try:
        with tqdm(desc="reindex", unit="tweet") as bar:
            indexed, removed = await Reindex(stores)(bar.update)
        with tqdm(desc="reindex", unit="user") as bar:
            people = await ReindexUsers(stores)(bar.update)
    finally:
        await stores.close()
    print(f"{indexed} tweets indexed, {removed} deleted or retweets removed")
    print(f"{people} users indexed")
    return 0


async def _move_shard(args: argparse.Namespace) -> int:
    from storage.postgres.moves import move_logical_shard
    from storage.postgres.shards import Shards
    from storage.registry import scheme_of

    settings = from_env()
    if scheme_of(settings.users_url) != "postgresql":
        print("chirp shards move needs CHIRP_USERS_URL to name PostgreSQL shards", file=sys.stderr)
        return 2
    shards = await Shards.open(settings.users_url)
    try:
        report = await move_logical_shard(shards, args.logical_shard, args.target)
    finally:
        await shards.close()
    print(
        f"logical shard {report.logical_shard}: physical {report.source} -> {report.target} "
        f"({report.users} users, {report.claims} claims, {report.sessions} sessions)"
    )
    return 0


async def _users(args: argparse.Namespace) -> int:
    """`chirp users grant|revoke ROLE USERNAME`."""
    from app import container
    from app.errors import UserError
    from app.settings import ensure_secret_key
    from storage.registry import open_stores

    settings = ensure_secret_key(from_env())
    stores = await open_stores(settings)
    try:
        moderation = container.build(settings, stores).services.moderation
        granted = args.users_command == "grant"
        changed = await moderation.set_role(args.username, args.role, granted)
    except UserError as error:
        print(f"chirp users: {error}", file=sys.stderr)
        return 2
    finally:
        await stores.close()
    verb = "granted to" if granted else "revoked from"
    print(f"{args.role} {verb} {args.username}" + ("" if changed else " (already so)"))
    return 0


async def _lifecycle() -> int:
    """`chirp lifecycle run`: one pass of every step, with a progress bar and a summary."""
    from tqdm import tqdm

    from app import container
    from app.lifecycle import summarize
    from app.settings import ensure_secret_key
    from storage.registry import open_stores

    settings = ensure_secret_key(from_env())
    stores = await open_stores(settings)
    try:
        runner = container.build(settings, stores).lifecycle
        with tqdm(desc="lifecycle", unit="item") as bar:
            report = await runner.run_pass(bar.update)
    finally:
        await stores.close()
    for step, counts in report.items():
        print(summarize({step: counts}))
    return 0


async def _failover() -> int:
    """`chirp failover postgres` (storage/postgres/failover.py)."""
    from storage.postgres.failover import fail_over
    from storage.registry import scheme_of

    settings = from_env()
    if scheme_of(settings.users_url) != "postgresql":
        print("chirp failover postgres needs CHIRP_USERS_URL to name PostgreSQL", file=sys.stderr)
        return 2
    result = await fail_over(settings.users_url)
    for server in result.servers:
        print(f"{server.host}:{server.port}  {server.state}")
    if result.primary is None:
        print("no writable PostgreSQL: nothing could be promoted", file=sys.stderr)
        return 1
    if result.promoted is not None:
        print(f"promoted {result.promoted.host}:{result.promoted.port}; the app's DSNs reach it")
    else:
        print(f"the primary is {result.primary.host}:{result.primary.port}: nothing to do")
    return 0


def _backup(args: argparse.Namespace) -> int:
    """`chirp backup create | list | prune | restore --to TIME` (app/backup/)."""
    from datetime import UTC, datetime

    from tqdm import tqdm

    from app.backup import BackupError, open_backups, reconcile_restored

    for chatty in ("botocore", "boto3", "cassandra"):  # the progress bar says enough
        logging.getLogger(chatty).setLevel(logging.WARNING)
    try:
        backups = open_backups(from_env())
        if args.backup_command == "create":
            with tqdm(desc="backup", unit="file") as bar:
                taken = backups.create(bar.update, full=args.full)
            print(f"backup {taken.name} taken: {_parts_summary(taken.parts)}")
        elif args.backup_command == "list":
            for backup in backups.sets():
                print(
                    f"{backup.name}  {backup.taken_at.isoformat()}  {_parts_summary(backup.parts)}"
                )
        elif args.backup_command == "prune":
            removed = backups.prune()
            print(f"{len(removed)} set(s) pruned, {len(backups.sets())} kept")
            for backup in removed:
                print(f"pruned {backup.name}")
        else:
            try:
                to = datetime.fromisoformat(args.to)
            except ValueError:
                raise BackupError(f"--to {args.to!r} is not a time: use 2026-12-04T10:15") from None
            to = to if to.tzinfo is not None else to.replace(tzinfo=UTC)
            if args.backup_command == "restore-postgres":
                from app.backup.engines import EngineBackups

                if not isinstance(backups, EngineBackups):
                    raise BackupError("restore-postgres is for the real engines' PostgreSQL")
                target = backups.restore_postgres(to, Path(args.data))
                print(
                    f"PostgreSQL's base backup is in {args.data}: started, it replays the "
                    f"archived WAL up to {target} and then takes writes"
                )
                return 0
            with tqdm(desc="restore", unit="file") as bar:
                restored = backups.restore(to, bar.update)
            settings = from_env()
            jobs, counts = asyncio.run(reconcile_restored(settings, restored))
            print(f"{jobs} job(s) rebuilt, {counts} count(s) corrected")
            print(f"restored {restored.name}, the newest set at or before {to.isoformat()}")
    except BackupError as error:
        print(f"chirp backup: {error}", file=sys.stderr)
        return 2
    return 0


def _parts_summary(parts: dict[str, Any]) -> str:
    return ", ".join(
        f"{name} ({', '.join(f'{k} {v}' for k, v in sorted(info.items()) if k != 'file')})"
        if isinstance(info, dict)
        else f"{name} {info}"
        for name, info in parts.items()
    )


def _print_schema(args: argparse.Namespace) -> int:
    from schema.schema import printed_schema

    text = printed_schema()
    if args.output:
        Path(args.output).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="chirp", description="Chirp social backend")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the GraphQL API (and GraphiQL)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes on the one port (each core serves); above 1 needs a Redis "
        "cache (CHIRP_CACHE_URL) and uses worker ids CHIRP_WORKER_ID.. +N-1",
    )
    worker = commands.add_parser("worker", help="run background jobs (fan-out, indexing)")
    worker.add_argument("--once", action="store_true", help="run what is queued, then exit")
    worker.add_argument(
        "--streams", help="comma-separated job streams to consume (default: all of them)"
    )
    worker.add_argument(
        "--concurrency", type=int, help="jobs in flight per stream (CHIRP_WORKER_CONCURRENCY)"
    )
    commands.add_parser("migrate", help="apply every store's schema migrations")
    commands.add_parser("reindex", help="rebuild search (tweets and people) from the stores")
    seeder = commands.add_parser("seed", help="fill the stores with realistic demo data")
    seeder.add_argument("--users", type=int, default=12_000)
    seeder.add_argument("--tweets", type=int, default=3_000)
    seeder.add_argument("--celebrities", type=int, default=3)
    shards = commands.add_parser("shards", help="PostgreSQL user shards")
    shard_commands = shards.add_subparsers(dest="shards_command", required=True)
    move = shard_commands.add_parser("move", help="move a logical shard to another database")
    move.add_argument("logical_shard", type=int, help="0..99")
    move.add_argument("target", type=int, help="index of the database in CHIRP_USERS_URL")
    users = commands.add_parser("users", help="roles of users (moderator)")
    user_commands = users.add_subparsers(dest="users_command", required=True)
    for verb in ("grant", "revoke"):
        role = user_commands.add_parser(verb, help=f"{verb} a role: {verb} moderator USERNAME")
        role.add_argument("role", help="moderator")
        role.add_argument("username")
    lifecycle = commands.add_parser("lifecycle", help="the data lifecycle (purges, tiers)")
    lifecycle_commands = lifecycle.add_subparsers(dest="lifecycle_command", required=True)
    lifecycle_commands.add_parser("run", help="run one pass of every step now")
    backup = commands.add_parser("backup", help="backup sets of every store, and restores")
    backup_commands = backup.add_subparsers(dest="backup_command", required=True)
    create = backup_commands.add_parser("create", help="take a backup set now")
    create.add_argument(
        "--full",
        action="store_true",
        help="real engines: a full set (base backup, snapshot) even if one is not due",
    )
    backup_commands.add_parser("list", help="the backup sets, oldest first")
    backup_commands.add_parser("prune", help="remove the sets the retention schedule lets go")
    restore = backup_commands.add_parser("restore", help="restore the newest set at or before TIME")
    restore.add_argument(
        "--to", required=True, help="ISO time, UTC unless it says (2026-12-04T10:15)"
    )
    postgres = backup_commands.add_parser(
        "restore-postgres",
        help="real engines: put PostgreSQL's base backup and WAL replay to TIME into a folder",
    )
    postgres.add_argument("--to", required=True, help="ISO time, UTC unless it says")
    postgres.add_argument("--data", required=True, help="the stopped cluster's empty data folder")
    failover = commands.add_parser("failover", help="promote a standby when the primary is gone")
    failover.add_argument("engine", choices=["postgres"])
    printer = commands.add_parser("print-schema", help="print the GraphQL SDL")
    printer.add_argument("--output", "-o")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if args.command == "serve":
        return _serve(args)
    if args.command == "migrate":
        return asyncio.run(_migrate())
    if args.command == "worker":
        return asyncio.run(_worker(args))
    if args.command == "seed":
        return asyncio.run(_seed(args))
    if args.command == "reindex":
        return asyncio.run(_reindex())
    if args.command == "shards":
        return asyncio.run(_move_shard(args))
    if args.command == "users":
        return asyncio.run(_users(args))
    if args.command == "lifecycle":
        return asyncio.run(_lifecycle())
    if args.command == "backup":
        return _backup(args)
    if args.command == "failover":
        return asyncio.run(_failover())
    return _print_schema(args)


if __name__ == "__main__":
    raise SystemExit(main())
