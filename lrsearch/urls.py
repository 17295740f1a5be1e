"""Storage URLs: the driver picked, the password hidden, SQLite told apart from a server.

SQLite is for one process; a server database (PostgreSQL, MySQL/MariaDB) for several workers.
"""

from __future__ import annotations

import importlib.util
import re

from sqlalchemy.engine import make_url

__all__ = ["SERVER_URL_EXAMPLES", "is_sqlite", "normalise_url", "redact_url",
           "unencoded_at_problem"]

SERVER_URL_EXAMPLES = ("postgresql://user:password@host:5432/db",
                       "mysql+pymysql://user:password@host:3306/db")


def normalise_url(url: str) -> str:
    """Pick the installed drivers: ``mysql://`` and ``mariadb://`` become ``mysql+pymysql://``;
    ``postgresql://`` stays as written (SQLAlchemy 2.1's default driver, psycopg 3, is one of
    lrsearch's dependencies, so Optuna's own tools read the same URL), and becomes
    ``postgresql+psycopg2://`` only where psycopg 3 is missing and psycopg2 is there.

    Example:
        >>> normalise_url("mysql://root@127.0.0.1/test")
        'mysql+pymysql://root@127.0.0.1/test'
        >>> normalise_url("sqlite:///lrsearch.db")
        'sqlite:///lrsearch.db'
    """
    postgres = "postgresql://"
    if importlib.util.find_spec("psycopg") is None and importlib.util.find_spec("psycopg2"):
        postgres = "postgresql+psycopg2://"
    for prefix, replacement in (("mysql://", "mysql+pymysql://"),
                                ("mariadb://", "mysql+pymysql://"),
                                ("postgres://", postgres), ("postgresql://", postgres)):
        if url.startswith(prefix):
            return replacement + url[len(prefix):]
    return url


def is_sqlite(url: str) -> bool:
    """Whether ``url`` is a SQLite database."""
    return url.startswith("sqlite")


_SECRET_NAME = r"(?:pass|pwd|secret|token|key)"  # in a key or query name: its value is secret


def _hide_secret_values(text: str) -> str:
    """``text`` with the value after each ``<secret name>=`` (a query) or ``'<secret name>':``
    (a mapping's repr) hidden."""
    text = re.sub(rf"({_SECRET_NAME}[\w-]*=)[^&\s'\"]+", r"\1***", text, flags=re.IGNORECASE)
    return re.sub(rf"(['\"]\w*{_SECRET_NAME}[\w-]*['\"]:\s*)('[^']*'|\"[^\"]*\"|[^,}}\s]+)",
                  r"\1'***'", text, flags=re.IGNORECASE)


def redact_text(text: str) -> str:
    """``text`` with whatever looks like a password hidden: in each ``scheme://user:pass@``,
    and after each ``password=`` (or another secret-sounding name), for messages that echo
    what a user wrote.

    Example:
        >>> redact_text("got 'postgresql://me:hunter2@db/x?token=abc'; must be ...")
        "got 'postgresql://me:***@db/x?token=***'; must be ..."
        >>> redact_text("got {'url': 'db', 'password': 'hunter2'}")
        "got {'url': 'db', 'password': '***'}"
    """
    # Up to the last `@` of the authority: a password may hold an unencoded `@` itself.
    return _hide_secret_values(re.sub(r"(://[^:/@\s'\"]*):[^\s'\"/]*@", r"\1:***@", text))


def is_secret_name(name: str) -> bool:
    """Whether a key or query name says its value is a secret (``password``, ``sslkey``)."""
    return re.search(_SECRET_NAME, name, flags=re.IGNORECASE) is not None


def unencoded_at(url: str) -> bool:
    """Whether the URL's user part holds an ``@`` that is not percent-encoded (``%40``): the
    authority (between ``://`` and the next ``/``) has more than one.

    Example:
        >>> unencoded_at("postgresql://me:p@ss@db/x"), unencoded_at("postgresql://me:p%40ss@db/x")
        (True, False)
    """
    _, sep, rest = url.partition("://")
    return bool(sep) and rest.partition("/")[0].count("@") > 1


def unencoded_at_problem(url: str) -> str | None:
    """The problem line of a URL with an unencoded ``@`` in its user part, else None: the
    driver would take the password's tail for the host (and echo it in its error)."""
    if not unencoded_at(url):
        return None
    return (f"storage: got {redact_url(url)!r}; its user part holds '@' more than once: write "
            f"an '@' in the password as %40 (and ':' as %3A, '/' as %2F, '%' as %25)")


def redact_url(url: str) -> str:
    """The URL with its password hidden, for messages and provenance: the password, and any
    query value whose name says secret (``?password=``, ``sslkey``, ``token``); in a string too
    broken to parse as a URL, whatever sits between ``:`` and ``@`` and after such a name.

    Example:
        >>> redact_url("postgresql://me:secret@db/test")
        'postgresql://me:***@db/test'
        >>> redact_url("postgresql://me@db/test?password=hunter2&sslmode=require")
        'postgresql://me@db/test?password=***&sslmode=require'
        >>> redact_url("postgresql//me:secret@db/test?pwd=x")  # not a URL: no ://
        'postgresql//me:***@db/test?pwd=***'
        >>> redact_url("postgresql://me:se@cret@db/test")  # an unencoded @ in the password
        'postgresql://me:***@db/test'
    """
    if unencoded_at(url):  # SQLAlchemy would read the password's tail as the host
        return redact_text(url)
    try:
        parsed = make_url(url)
        hidden = {k: "***" for k in parsed.query if is_secret_name(k)}
        if hidden:
            parsed = parsed.update_query_dict(hidden)
        return parsed.render_as_string(hide_password=True).replace("%2A%2A%2A", "***")
    except Exception:  # not parseable: hide what looks like a password all the same
        return _hide_secret_values(re.sub(r":[^:@/]*@", ":***@", url))
