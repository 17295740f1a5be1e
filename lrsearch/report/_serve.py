"""``lrsearch dashboard``: optuna-dashboard on a storage, lrsearch's figures refreshed first.

The server socket is bound before anything is announced, so a storage that cannot be opened or
a port already taken is reported as one clear error, never after "listening on ...".
"""

from __future__ import annotations

from collections.abc import Callable
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import optuna

from lrsearch.errors import LrsearchError
from lrsearch.records import CONFIG_DIGEST_ATTR, open_report_storage

__all__ = ["serve_dashboard"]


class _Server(ThreadingMixIn, WSGIServer):
    """One thread per request, as ``optuna-dashboard`` itself serves with wsgiref."""

    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    """No log line per request: the dashboard polls every few seconds."""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (base signature)
        pass


def serve_dashboard(storage_url: str, host: str = "127.0.0.1", port: int = 8080,
                    refresh: bool = True, on_ready: Callable[[str], None] | None = None) -> None:
    """Run optuna-dashboard on ``storage_url`` until interrupted (Ctrl-C).

    Args:
        storage_url: SQLAlchemy URL of the storage (a SQLite file must exist).
        host: Address to listen on (localhost by default: the dashboard has no login).
        port: Port to listen on.
        refresh: First publish lrsearch's figures into every lrsearch study there.
        on_ready: Called with the dashboard's URL once the storage is open and the port bound.

    Raises:
        StudyError: The storage cannot be opened.
        LrsearchError: optuna-dashboard is not installed, or the port cannot be bound.
    """
    from lrsearch.report._dashboard import dashboard_module, publish_to_dashboard

    dashboard = dashboard_module()
    if dashboard is None:
        raise LrsearchError("optuna-dashboard is not installed; pip install optuna-dashboard")
    storage = open_report_storage(storage_url)
    if refresh:
        for summary in storage.get_all_studies():
            if CONFIG_DIGEST_ATTR in summary.user_attrs:  # an lrsearch study
                publish_to_dashboard(optuna.load_study(study_name=summary.study_name,
                                                       storage=storage))
    try:
        server = make_server(host, port, dashboard.wsgi(storage), server_class=_Server,
                             handler_class=_QuietHandler)
    except OSError as exc:
        raise LrsearchError(f"port: got {port}; cannot listen on {host}:{port}: "
                            f"{exc.strerror or exc} (pick another with --port)") from None
    with server:
        if on_ready is not None:
            on_ready(f"http://{host}:{port}/")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
