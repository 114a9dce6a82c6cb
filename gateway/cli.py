"""The ``session-gateway`` command: serve, migrate, seed, token, documents, export-schema."""

import argparse
import asyncio
import os
import sys
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.config import Settings
from storage.database import create_engine, is_sqlite

DEMO_SESSIONS = 20_000
DEMO_TOKEN_LABEL = "demo admin"  # noqa: S105 (a label, not a secret)
DEMO_TOKEN_DAYS = 7


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="session-gateway",
        description="GraphQL gateway and legacy REST Session API over parking and rental "
        "sessions. Every command reads DATABASE_URL (default: an SQLite file here).",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the gateway over HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers", type=int, default=None, help="worker processes (default: WEB_CONCURRENCY, 1)"
    )
    serve.add_argument(
        "--keep-alive",
        type=int,
        default=75,
        help="seconds an idle HTTP connection stays open; keep above the load balancer's",
    )
    serve.add_argument(
        "--graceful-timeout",
        type=int,
        default=10,
        help="seconds to finish in-flight requests and close subscriptions on shutdown",
    )
    serve.add_argument(
        "--demo",
        action="store_true",
        help="migrate, load demo data into an empty database, print an admin token, then serve",
    )

    commands.add_parser("migrate", help="migrate the database to the newest schema")

    seed = commands.add_parser("seed", help="load deterministic demo data")
    seed.add_argument("--sessions", type=int, default=DEMO_SESSIONS)
    seed.add_argument("--seed", type=int, default=1, help="random seed; same seed, same data")
    seed.add_argument("--add", action="store_true", help="add to a database that has sessions")
    seed.add_argument("--quiet", action="store_true", help="no progress bar")

    token = commands.add_parser("token", help="manage bearer tokens")
    token_commands = token.add_subparsers(dest="token_command", required=True)
    create = token_commands.add_parser("create", help="issue a token; prints it alone")
    create.add_argument("--role", choices=["user", "operator", "admin"], required=True)
    create.add_argument("--user-id", type=uuid.UUID)
    create.add_argument("--location", type=uuid.UUID, action="append", default=[])
    create.add_argument("--fleet", type=uuid.UUID, action="append", default=[])
    create.add_argument("--label", default="")
    create.add_argument("--expires-in-days", type=float, help="default: never expires")
    revoke = token_commands.add_parser(
        "revoke", help="delete a token and close its open WebSockets at once; prints its id"
    )
    revoke.add_argument("token", metavar="ID", help="the token's id, or the token itself")

    documents = commands.add_parser("documents", help="manage persisted GraphQL documents")
    document_commands = documents.add_subparsers(dest="documents_command", required=True)
    register = document_commands.add_parser(
        "register",
        help="trust .graphql files (one operation each); prints each one's SHA-256 and file",
    )
    register.add_argument("files", nargs="+", type=Path, metavar="FILE")

    commands.add_parser("export-schema", help="print the GraphQL schema (SDL)")
    return parser


async def _migrate(settings: Settings) -> None:
    from storage.migrate import upgrade

    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


async def _seed(settings: Settings, sessions: int, seed: int, add: bool, quiet: bool) -> int:
    from storage.demo import AlreadySeeded
    from storage.demo import seed as load_demo

    engine = create_engine(settings.database_url)
    try:
        summary = await load_demo(engine, sessions, seed=seed, add=add, progress=not quiet)
    except AlreadySeeded as error:
        print(f"session-gateway seed: {error}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    print(
        f"loaded {summary.sessions} sessions, {summary.events} events, {summary.devices} devices "
        f"at {summary.locations} locations and {summary.fleets} fleets "
        f"in {summary.seconds:.1f} s",
        file=sys.stderr,
    )
    return 0


async def _revoke_token(settings: Settings, reference: str) -> int:
    from resolvers.identity import revoke_token
    from storage.updates import create_update_bus

    engine = create_engine(settings.database_url)
    try:
        revoked = await revoke_token(engine, reference)
        if revoked is None:
            print("session-gateway token revoke: no such token", file=sys.stderr)
            return 1
        bus = create_update_bus(
            engine, settings.live_updates, settings.redis_url, settings.redis_key_prefix
        )
        try:
            await bus.announce_revocation(revoked)  # open sockets close now, not at their check
        finally:
            await bus.stop()
    finally:
        await engine.dispose()
    print(revoked)
    return 0


async def _create_token(settings: Settings, args: argparse.Namespace) -> str:
    from resolvers.identity import create_token
    from storage.enums import Role

    expires = (
        datetime.now(UTC) + timedelta(days=args.expires_in_days) if args.expires_in_days else None
    )
    engine = create_engine(settings.database_url)
    try:
        return await create_token(
            engine,
            Role(args.role),
            user_id=args.user_id,
            location_ids=args.location,
            fleet_ids=args.fleet,
            label=args.label,
            expires_at=expires,
        )
    finally:
        await engine.dispose()


def _read_documents(paths: Sequence[Path]) -> list[tuple[Path, str]] | None:
    from gateway.graphql.persisted import check_document

    documents, failed = [], False
    for path in paths:
        try:
            body = path.read_text(encoding="utf-8")
            check_document(body)
        except (OSError, UnicodeDecodeError, ValueError) as error:
            print(f"session-gateway documents register: {path}: {error}", file=sys.stderr)
            failed = True
        else:
            documents.append((path, body))
    return None if failed else documents


async def _register_documents(settings: Settings, paths: Sequence[Path]) -> int:
    from resolvers.documents import DocumentStore
    from storage.migrate import is_at_head

    documents = _read_documents(paths)
    if documents is None:
        return 1  # nothing is registered unless every file is a valid document
    engine = create_engine(settings.database_url)
    try:
        if not await is_at_head(engine):
            print("session-gateway: run `session-gateway migrate` first", file=sys.stderr)
            return 1
        store = DocumentStore(engine)
        for path, body in documents:
            print(f"{await store.register(body)}  {path}")
    finally:
        await engine.dispose()
    return 0


async def _prepare_demo(settings: Settings) -> str:
    from resolvers.identity import create_token
    from storage.demo import count_sessions
    from storage.demo import seed as load_demo
    from storage.enums import Role
    from storage.migrate import upgrade

    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
        if await count_sessions(engine) == 0:
            print(f"loading {DEMO_SESSIONS} demo sessions ...", file=sys.stderr)
            await load_demo(engine, DEMO_SESSIONS, seed=1)
        # One demo token at a time, and not forever: each start replaces the last one.
        return await create_token(
            engine,
            Role.ADMIN,
            label=DEMO_TOKEN_LABEL,
            expires_at=datetime.now(UTC) + timedelta(days=DEMO_TOKEN_DAYS),
            replace_label=True,
        )
    finally:
        await engine.dispose()


def _serve(settings: Settings, args: argparse.Namespace) -> None:
    from gateway.server import run_server

    base = f"http://{args.host}:{args.port}"
    # Workers read their settings from the environment: make `uri` fields point here.
    os.environ.setdefault("PUBLIC_BASE_URL", base)
    if args.demo:
        token = asyncio.run(_prepare_demo(settings))
        # GraphiQL starts with this token in its header editor (only ever on the demo).
        os.environ["GRAPHIQL_DEMO_TOKEN"] = token
        print(
            f"\n  session-gateway on {settings.database_url}\n"
            f"  GraphiQL:  {base}/graphql  (its Headers tab holds the admin token)\n"
            f"  REST v2:   {base}/session/v2/sessions\n"
            f"  metrics:   {base}/metrics\n"
            f"  admin token (send as 'Authorization: Bearer <token>'; it is valid for\n"
            f"  {DEMO_TOKEN_DAYS} days, and the next start replaces it):\n\n  {token}\n\n"
            f"  try:  curl -H 'Authorization: Bearer {token}' \\\n"
            f"          '{base}/session/v2/sessions?limit=2'\n",
            flush=True,
        )
    elif os.environ.pop("GRAPHIQL_DEMO_TOKEN", ""):
        print("note: GRAPHIQL_DEMO_TOKEN is only used with --demo; ignored", file=sys.stderr)
    if args.workers is None:
        args.workers = settings.workers
    # Each worker reads its settings again: this is how it knows how many there are.
    os.environ["WEB_CONCURRENCY"] = str(args.workers)
    if args.workers > 1 and is_sqlite(settings.database_url):
        print(
            "note: several workers share one SQLite file; PostgreSQL scales better", file=sys.stderr
        )
    run_server(
        settings,
        host=args.host,
        port=args.port,
        workers=args.workers,
        keep_alive=args.keep_alive,
        graceful_timeout=args.graceful_timeout,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except ValueError as error:
        print(f"session-gateway: {error}", file=sys.stderr)
        return 2
    if args.command == "serve":
        _serve(settings, args)
    elif args.command == "migrate":
        asyncio.run(_migrate(settings))
    elif args.command == "seed":
        return asyncio.run(_seed(settings, args.sessions, args.seed, args.add, args.quiet))
    elif args.command == "token":
        if args.token_command == "revoke":  # noqa: S105 (a sub-command's name)
            return asyncio.run(_revoke_token(settings, args.token))
        print(asyncio.run(_create_token(settings, args)))
    elif args.command == "documents":
        return asyncio.run(_register_documents(settings, args.files))
    elif args.command == "export-schema":
        from gateway.graphql.schema import schema

        print(schema.as_str())
    return 0


if __name__ == "__main__":
    sys.exit(main())
