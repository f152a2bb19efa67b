"""The ``switchboard`` command: serve, migrate, and operator actions."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Sequence

from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from services.common.errors import SwitchboardError

SERVICES = ("config", "registry", "gateway")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``switchboard`` console script."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("SWITCHBOARD_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Alembic announces each of its plugins at INFO; only its migration steps are news.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    try:
        return int(args.handler(args))
    except SwitchboardError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 1
    except ValidationError as error:
        for problem in invalid_settings(error):
            print(f"error: {problem}", file=sys.stderr)
        return 1
    except (OSError, RuntimeError, SQLAlchemyError) as error:
        # Operators get one line; the traceback is logged at DEBUG level only.
        logging.getLogger("switchboard").debug("command failed", exc_info=True)
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def invalid_settings(error: ValidationError) -> list[str]:
    """One line per refused setting: its variable and what it must be.

    The value given is not repeated: the setting may be a secret or a database URL.
    """
    problems = []
    for detail in error.errors(include_url=False, include_input=False):
        names = [str(part) for part in detail["loc"]]
        message = str(detail["msg"]).removeprefix("Value error, ")
        if names:
            problems.append(f"SWITCHBOARD_{'_'.join(names).upper()}: {message}")
        else:
            problems.append(message)
    return problems


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="switchboard", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run a process (or all three)")
    serve.add_argument("process", choices=(*SERVICES, "all"))
    serve.set_defaults(handler=_serve)

    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("service", nargs="?", choices=("config", "registry", "all"), default="all")
    migrate.add_argument(
        "--retry-for",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="keep retrying this long while the database cannot be reached (containers)",
    )
    migrate.set_defaults(handler=_migrate)

    accounts = commands.add_parser("accounts", help="manage accounts").add_subparsers(
        dest="accounts_command", required=True
    )
    create = accounts.add_parser("create", help="create an account and its first admin key")
    create.add_argument("--name", required=True)
    create.add_argument("--json", action="store_true", help="print JSON only")
    create.add_argument(
        "--create", action="store_true", help="create the config database if it does not exist"
    )
    create.set_defaults(handler=_create_account)

    keys = commands.add_parser("keys", help="manage API keys").add_subparsers(
        dest="keys_command", required=True
    )
    mint = keys.add_parser("create", help="mint an admin API key for an account")
    mint.add_argument(
        "--admin",
        action="store_true",
        required=True,
        help="an account-wide admin key (the API mints only identity-scoped keys)",
    )
    mint.add_argument("--account", required=True, metavar="ACCOUNT_ID")
    mint.add_argument("--label", default="operator admin key")
    mint.add_argument("--json", action="store_true", help="print JSON only")
    mint.set_defaults(handler=_create_key)
    revoke = keys.add_parser("revoke", help="revoke an API key by id")
    revoke.add_argument("key_id")
    revoke.set_defaults(handler=_revoke_key)

    probe = commands.add_parser("probe", help="exit 0 when a service is healthy")
    probe.add_argument("kind", choices=("grpc", "http"))
    probe.add_argument("target", help="host:port (grpc) or URL (http)")
    probe.set_defaults(handler=_probe)
    return parser


def _serve(args: argparse.Namespace) -> int:
    if args.process == "all":
        from services.supervisor import run_all

        return run_all()
    from services.common.process import event_loop
    from services.common.process.shutdown import die_with_supervisor

    die_with_supervisor()
    if args.process == "config":
        from services.config.server import serve

        event_loop.run(serve())
    elif args.process == "registry":
        from services.registry.server import serve as serve_registry

        event_loop.run(serve_registry())
    else:
        from gateway.workers import serve_gateway

        return serve_gateway()
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from services.database_admin import migrate

    targets = ("config", "registry") if args.service == "all" else (args.service,)
    for service in targets:
        url = asyncio.run(migrate(service, retry_for=args.retry_for))
        print(f"{service}: migrated {url}", file=sys.stderr)
    return 0


def _create_account(args: argparse.Namespace) -> int:
    from services.database_admin import create_account

    written = asyncio.run(create_account(args.name, create=args.create))
    created = written.created
    if args.json:
        print(json.dumps({"account_id": created.account_id, "api_key": created.api_key}))
        print(f"switchboard: account written to {written.database}", file=sys.stderr)
    else:
        print(f"database:     {written.database}")
        print(f"account id:   {created.account_id}")
        print(f"admin key id: {created.api_key_id}")
        print(f"admin key:    {created.api_key}")
        print("The key is shown only this once; store it now.")
    return 0


def _create_key(args: argparse.Namespace) -> int:
    from services.database_admin import create_admin_key

    written = asyncio.run(create_admin_key(args.account, args.label))
    created = written.created
    if args.json:
        shown = {"account_id": created.account_id, "api_key_id": created.api_key_id}
        print(json.dumps({**shown, "api_key": created.api_key}))
        print(f"switchboard: key written to {written.database}", file=sys.stderr)
    else:
        print(f"database:     {written.database}")
        print(f"account id:   {created.account_id}")
        print(f"admin key id: {created.api_key_id}")
        print(f"admin key:    {created.api_key}")
        print("The key is shown only this once; store it now.")
    return 0


def _revoke_key(args: argparse.Namespace) -> int:
    from services.database_admin import revoke_key

    revoked = asyncio.run(revoke_key(args.key_id))
    key = revoked.key
    print(f"revoked {key.id} ({key.display_prefix}...{key.last4}) in {revoked.database}")
    return 0


def _probe(args: argparse.Namespace) -> int:
    from services.probe import probe

    healthy = probe(args.kind, args.target)
    print("healthy" if healthy else "unhealthy", file=sys.stderr)
    return 0 if healthy else 1


if __name__ == "__main__":
    raise SystemExit(main())
