"""``newsarchive serve``: browse an archive in Datasette, read-only, with search, facets, canned queries and charts.

The archive is checked the way every read command checks it (``open_existing_archive``: it must
exist and be an archive; never created or migrated), then served by Datasette under the database
name ``archive`` (``/archive/articles``) with the metadata of archive/datasette_metadata.py and the
dashboard of the datasette-dashboards plugin (``/-/dashboards/archive-dashboard``).

Read-only: SQLite opens the file with ``mode=ro``, so no request can write to it (Datasette itself
runs only SELECTs and defines no writable query here), and every write method (POST, PUT, PATCH,
DELETE) is answered 405 before it reaches Datasette (:func:`read_only_app`). Not ``immutable=1`` (``datasette -i``): an
archive is in WAL mode and crawls may be writing to it; an immutable reader ignores the WAL (the
newest articles are missing) and may read pages half rewritten under it.

Datasette runs under uvicorn on a socket bound here, so ``--port 0`` picks a free port and the
printed URL is the real one; Ctrl-C (or SIGTERM) stops it cleanly. Binding to anything but a
loopback address prints a warning: the archive becomes readable by that network.
"""

from __future__ import annotations

import ipaddress
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import click

from crawler.cli.ops import CONFIG_OPTION, DB_OPTION, archive_path, fail, load_optional_config, open_existing_archive

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8001
LOOPBACK_NAMES = {"localhost", "ip6-localhost"}


def is_loopback(host: str) -> bool:
    """True for an address or name that only this machine can reach."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str) -> str | None:
    if is_loopback(host):
        return None
    everyone = "every network this machine is on" if host in ("0.0.0.0", "::", "") else f"the network of {host}"
    return (
        f"warning: serving on {host}: the archive becomes visible to {everyone} (anyone who can reach this "
        f"port can read every article and run SQL on it). Use --host {DEFAULT_HOST} to keep it on this machine."
    )


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: a free one), IPv4 or IPv6 as the host says."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    if host == "localhost":
        host = "127.0.0.1"
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as error:
        sock.close()
        fail(f"cannot listen on {host}:{port}: {error.strerror or error}; choose another --port (0: any free one)")
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
WRITE_REFUSED = (
    b"405 Method Not Allowed: this archive is served read-only (GET only); nothing can be written through it.\n"
)


def read_only_app(app):  # -> an ASGI app
    """``app`` behind a gate that answers every write method (POST, PUT, PATCH, DELETE…) 405, on any path.

    Datasette 0.65 would reject such a request anyway (mode=ro, no write permission), but on some paths
    (``/db/table/-/insert``, ``/db/table/1/-/delete``) only after failing with a 500 and a traceback on
    the server's terminal; here it never reaches Datasette.
    """

    async def gate(scope, receive, send) -> None:
        if scope["type"] != "http" or scope.get("method", "GET").upper() in READ_METHODS:
            await app(scope, receive, send)
            return
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(WRITE_REFUSED)).encode()),
            (b"allow", ", ".join(sorted(READ_METHODS)).encode()),
        ]
        await send({"type": "http.response.start", "status": 405, "headers": headers})
        await send({"type": "http.response.body", "body": WRITE_REFUSED})

    return gate


def build_datasette(db_path: Path):  # -> datasette.app.Datasette (imported here: a heavy import)
    """A Datasette serving ``db_path`` read-only as database ``archive``, with the archive's metadata."""
    import rich
    from datasette.app import Datasette
    from datasette.database import Database

    from archive.datasette_metadata import DATABASE_NAME, datasette_metadata, templates_dir
    from crawler.cli.month_facet import register as register_month_facet

    # Datasette prints every failed request's traceback, with its local variables, to rich's global console
    # (stdout): a mistyped query in the browser would flood the terminal. The browser shows the error already.
    rich.reconfigure(quiet=True)
    register_month_facet()
    datasette = Datasette(
        metadata=datasette_metadata(), settings={"sql_time_limit_ms": 5000}, template_dir=templates_dir()
    )
    # is_mutable=True means "may change under us" to Datasette: it opens the file with mode=ro.
    datasette.add_database(Database(datasette, path=str(db_path), is_mutable=True), name=DATABASE_NAME)
    return datasette


@click.command()
@CONFIG_OPTION
@DB_OPTION
@click.option(
    "--host", default=DEFAULT_HOST, show_default=True, help="Address to listen on (others than loopback get a warning)."
)
@click.option(
    "--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True, help="Port (0: any free one)."
)
def serve(config_path: Path | None, db: Path | None, host: str, port: int) -> None:
    """Browse the archive in Datasette: search, facets, canned queries and a dashboard with charts.

    Read-only: nothing can be written to the archive through it, and it works while crawls write.
    Opens on http://127.0.0.1:8001/archive ; Ctrl-C stops it.

    \b
    Examples:
      newsarchive serve --db data/demo.db                 # then open http://127.0.0.1:8001/archive
      newsarchive serve --config sources.toml --port 8080
      # search:    http://127.0.0.1:8001/archive/articles?_search=election+OR+vote
      # charts:    http://127.0.0.1:8001/-/dashboards/archive-dashboard
      # JSON:      http://127.0.0.1:8001/archive/articles.json?_search=election&_shape=array
    """
    path = archive_path(load_optional_config(config_path), db)
    open_existing_archive(path).close()  # exits 2 with the reason when it is not an archive
    warning = exposure_warning(host)
    if warning:
        click.echo(warning, err=True)
    sock = bind_socket(host, port)
    import uvicorn

    datasette = build_datasette(path)
    actual_port = sock.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    base = f"http://{shown_host}:{actual_port}"
    banner = (
        f"Serving {path} read-only at {base}/archive  (dashboard: {base}/-/dashboards/archive-dashboard). Ctrl-C stops."
    )

    class AnnouncingServer(uvicorn.Server):
        """Prints the URL once the server answers and its Ctrl-C/SIGTERM handlers are in place: a
        signal sent as soon as the URL shows (by a person, a script or a test) always stops it."""

        async def startup(self, sockets: list[Any] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:
                click.echo(banner)
                sys.stdout.flush()

    server = AnnouncingServer(uvicorn.Config(read_only_app(datasette.app()), log_level="warning", lifespan="on"))
    # uvicorn shuts down cleanly on Ctrl-C or SIGTERM, then re-sends the signal to the handler that was there
    # before: make SIGTERM end like Ctrl-C (exit 0, "Stopped."), not as a process killed by it.
    previous_term = signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        click.echo("Stopped.")  # a normal stop, not click's "Aborted!"
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        sock.close()
