"""Per-process cache of the public pages' rendered HTML, keyed on the published data.

A public page shows published snapshots only, and published snapshots never change: a new
publication adds a snapshot (or a new revision of one). So the HTML of a page is a function of

* the view and its URL arguments (``/indicators/<code>``, ``/units/<code>``),
* the address it was asked for (root URL, path and query string: the layout's language
  switch links keep the request's own query),
* the language of the page (``vi`` or ``en``: one language's HTML is never served in the other),
* the set of published snapshots: ``count(*)``, ``max(id)`` and ``max(published_at)`` of
  ``published_snapshots``, read for every request; any publication or revision changes it,
* the date (pages say which units are valid today),
* whatever else the view names with ``vary`` (the unit page: its moderated comments),

and :func:`cached_page` keeps it for :data:`TTL_SECONDS` at most (registry edits, such as a
renamed unit, show within that time). The whole page is cached, layout included, because the
layout (``base.html``) depends on nothing else: no user, no flashed message, no CSRF token and
no CSP nonce. A page whose rendering asked for this response's nonce (``csp_nonce()``) or
touched the session is never stored. Only anonymous ``GET`` requests without query arguments
other than ``lang`` use the cache; anything else runs the view as usual. The response goes
through every ``after_request`` hook as any other (request id, log line, security headers).

The snapshots' version is read on a connection each thread of a process keeps for it alone
(autocommit, so it always sees the latest publication): one small query per request instead
of a session, a pooled connection with its ``pool_pre_ping`` and a rollback. If that
connection fails, the request reads the version through the session as before.

Each gunicorn worker has its own cache (``app.extensions``); since the key is the data, every
worker serves the same page for the same snapshots. The cache is on unless the application is
``TESTING``; ``PUBLIC_PAGE_CACHE`` turns it on or off explicitly.

Issue #18: most of a hit's cost was Flask's request machinery around it (hooks, session,
locale selection, limiter pass), not the page. :class:`FastPath`, a WSGI layer in front of
Flask, answers the hits of anonymous, cookie-less ``GET`` requests without query string with
the same key, bytes, headers, log line and metrics, and leaves everything else to Flask
(``PUBLIC_FAST_PATH = False`` switches it off). Cached responses say ``Vary: Accept-Language,
Cookie``: the language comes from either, so a shared cache in front must keep them apart.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping
from datetime import date
from typing import Any, NamedTuple, TypeVar

from flask import Flask, Response, current_app, g, request, session
from flask_babel import get_locale
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.exceptions import SecurityError

from webapp.extensions import db, limiter
from webapp.insights.actions import version as actions_version
from webapp.models.feedback import CommentReview
from webapp.models.insights import CommentTheme
from webapp.ops.logs import REQUEST_ID_HEADER, incoming_request_id, line_fields, masked_path, write_line
from webapp.ops.metrics import record_request
from webapp.security import is_embeddable_view, new_nonce, set_security_headers

View = TypeVar("View", bound=Callable[..., Any])
T = TypeVar("T")

#: How long a rendered page is kept at most, whatever happens to the snapshots.
TTL_SECONDS = 300.0
#: Pages kept per process (a unit page per unit and language is the bulk: 389 units × 2).
MAX_ENTRIES = 2048
#: How often each process reads the comments' version (moderation shows within this time).
COMMENTS_CHECK_SECONDS = 1.0
#: The query whose answer changes with every publication, revision or deletion of a snapshot.
SNAPSHOTS_VERSION_SQL = "SELECT count(*), max(id), max(published_at) FROM published_snapshots"
#: Session keys that say nothing on a page: Flask-Login marks an anonymous session "not fresh".
_NOT_PER_PAGE = frozenset({"_fresh"})
#: The type of the cached pages' responses.
HTML_MIMETYPE = "text/html"


class PageCache:
    """A thread-safe LRU of ``key -> (expiry, UTF-8 HTML)``."""

    def __init__(self, max_entries: int = MAX_ENTRIES, ttl: float = TTL_SECONDS) -> None:
        self.max_entries = max_entries
        self.ttl = ttl
        self._entries: OrderedDict[Hashable, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        #: (when, value) of the last :func:`comments_version` read.
        self.comments_checked: tuple[float, tuple[Any, ...]] | None = None
        #: What :class:`FastPath` learnt from the normal path, each kept for ``ttl`` as pages are:
        #: address -> (expiry, :class:`Route`), ``Accept-Language`` header -> (expiry, the
        #: language the normal path chose for it).
        self._routes: OrderedDict[tuple[str, ...], tuple[float, Route]] = OrderedDict()
        self._languages: OrderedDict[str | None, tuple[float, str]] = OrderedDict()
        #: Pages answered by :class:`FastPath` (counted in :attr:`hits` too).
        self.fast_hits = 0

    def get(self, key: Hashable, count_miss: bool = True) -> bytes | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] < time.monotonic():
                self.misses += count_miss
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[1]

    def put(self, key: Hashable, body: bytes) -> None:
        with self._lock:
            self._entries[key] = (time.monotonic() + self.ttl, body)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._routes.clear()
            self._languages.clear()
            self.comments_checked = None

    def learn(self, address: tuple[str, ...], route: Route, accept_language: str | None, language: str) -> None:
        """Remember what the normal path decided for an anonymous, cookie-less ``GET`` without query."""
        expiry = time.monotonic() + self.ttl
        with self._lock:
            for known, key, value in ((self._routes, address, route), (self._languages, accept_language, language)):
                known[key] = (expiry, value)
                known.move_to_end(key)
                while len(known) > self.max_entries:
                    known.popitem(last=False)

    def route(self, address: tuple[str, ...]) -> Route | None:
        return _unexpired(self._routes.get(address))

    def language(self, accept_language: str | None) -> str | None:
        return _unexpired(self._languages.get(accept_language))

    def __len__(self) -> int:
        return len(self._entries)


def _unexpired(entry: tuple[float, T] | None) -> T | None:
    return entry[1] if entry is not None and entry[0] >= time.monotonic() else None


def page_cache(app: Flask | None = None) -> PageCache:
    """This application's cache in this process (made on first use)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    cache = app.extensions.get("public_page_cache")
    if cache is None:
        cache = app.extensions.setdefault("public_page_cache", PageCache())
    return cache


class _VersionProbe(threading.local):
    """Each thread's own autocommit DBAPI connection for :data:`SNAPSHOTS_VERSION_SQL`."""

    connection: Any = None
    engine: Any = None
    pid: int = 0


_probe = _VersionProbe()


def _probe_connection(engine: Any) -> Any:
    """This thread's probe connection to ``engine`` (opened on first use)."""
    if _probe.pid != os.getpid():  # made before a fork: the parent's socket, never to be used or closed here
        _probe.connection, _probe.engine, _probe.pid = None, None, os.getpid()
    if _probe.connection is not None and _probe.engine is engine:
        return _probe.connection
    _close_probe()
    if engine.url.get_backend_name() == "sqlite" and engine.url.database in (None, "", ":memory:"):
        return None  # a new connection would open another, empty in-memory database
    pooled = engine.raw_connection()
    pooled.detach()  # ours alone from now on: never returned to (or counted by) the pool
    engine.dialect.set_isolation_level(pooled.dbapi_connection, "AUTOCOMMIT")
    _probe.connection, _probe.engine = pooled, engine
    return pooled


def _close_probe() -> None:
    connection, _probe.connection, _probe.engine = _probe.connection, None, None
    if connection is not None:
        with contextlib.suppress(Exception):  # already broken: nothing left to release
            connection.close()


def snapshots_version() -> tuple[Any, ...]:
    """Changes whenever a snapshot or a revision is published (or one is deleted)."""
    found = probed_version(db.engine)
    if found is None:  # no probe connection (in-memory SQLite), or a dropped one: through the session
        found = tuple(db.session.connection().exec_driver_sql(SNAPSHOTS_VERSION_SQL).one())
    return found


def probed_version(engine: Any) -> tuple[Any, ...] | None:
    """:func:`snapshots_version` read on this thread's probe connection to ``engine``, or None
    if there is none or it failed (it is then closed, and opened again next time)."""
    try:
        connection = _probe_connection(engine)
        if connection is not None:
            cursor = connection.cursor()
            try:
                cursor.execute(SNAPSHOTS_VERSION_SQL)
                return tuple(cursor.fetchone())
            finally:
                cursor.close()
    except Exception:  # noqa: BLE001  (a dropped connection)
        _close_probe()
    return None


def _enabled(config: Mapping[str, Any] | None = None) -> bool:
    config = current_app.config if config is None else config
    return bool(config.get("PUBLIC_PAGE_CACHE", not config.get("TESTING", False)))


def _login_cookie(cookies: Mapping[str, str], config: Mapping[str, Any]) -> bool:
    """Whether the request carries a session or "remember me" cookie (a signed-in user may)."""
    return config["SESSION_COOKIE_NAME"] in cookies or config.get("REMEMBER_COOKIE_NAME", "remember_token") in cookies


def _anonymous() -> bool:
    """No signed-in user: without a session or "remember me" cookie there cannot be one."""
    if not _login_cookie(request.cookies, current_app.config):
        return True

    return not current_user.is_authenticated


def _cacheable_request() -> bool:
    """Anonymous GET without query arguments other than ``lang``."""
    if request.method != "GET" or any(name != "lang" for name in request.args):
        return False
    return _anonymous()


def _key(
    endpoint: str | None,
    view_args: tuple[tuple[str, Any], ...],
    language: str,
    address: tuple[str, ...],
    query_string: bytes,
    version: tuple[Any, ...],
    varied: Hashable,
) -> tuple[Any, ...]:
    """The cache key of a page (module docstring); ``address`` is (scheme, host, root path, path),
    ``version`` the :func:`snapshots_version` read for this request, ``varied`` what the view's
    ``vary`` returned for it (or None).

    The normal path and :class:`FastPath` both call it: the same request gets the same key.
    """
    return (endpoint, view_args, language, *address, query_string, date.today().isoformat(), version, varied)


def _address() -> tuple[str, ...]:
    return (request.scheme, request.host, request.root_path, request.path)


def _per_request_state() -> tuple[Any, ...]:
    """What a page carrying per-request values changes while it renders.

    A CSP nonce (``csp_nonce()``), a CSRF token or a change to the session (a flashed message
    taken): a page that used any of them is never stored. (The user is anonymous: see
    :func:`_cacheable_request`.) ``dict.items`` reads the session without marking it read.
    """
    kept = {key: value for key, value in dict.items(session._get_current_object()) if key not in _NOT_PER_PAGE}
    return ("csp_nonce" in g, "csrf_token" in g, kept)


def _html_response(body: bytes) -> Response:
    """A cached page's response before the ``after_request`` hooks: the HTML says which
    language it is in, chosen from the cookie or ``Accept-Language`` (``Cookie`` is added
    by the session's ``save_session``), so caches between us and the reader must vary on them."""
    response = current_app.response_class(body, mimetype=HTML_MIMETYPE)
    response.vary.add("Accept-Language")
    return response


def comments_version(**_view_args: Any) -> tuple[Any, ...]:
    """Changes whenever any comment is published, hidden, edited, answered or reset, or an
    action plan is recorded or updated (:func:`webapp.insights.actions.version`).

    Every moderation step sets ``reviewed_at`` or ``replied_at`` to now (a maximum grows) or
    removes a review or a reply (a count falls), so no sequence of steps gives the same tuple.
    It covers every unit (one scan of the small ``comment_reviews`` table, where a per-unit
    query would join the responses) and is read at most every :data:`COMMENTS_CHECK_SECONDS`
    per process: a hidden comment leaves the cached pages within that time. A moderator's
    correction of a comment's themes inserts ``comment_themes`` rows dated now, so the latest
    such date is part of the tuple too (the rules' own rows are not: a new comment is pending,
    and new rules come with a new deployment).
    """
    cache = page_cache()
    now = time.monotonic()
    with cache._lock:
        if cache.comments_checked is not None and now - cache.comments_checked[0] < COMMENTS_CHECK_SECONDS:
            return cache.comments_checked[1]
    row = (
        tuple(
            db.session.execute(
                select(
                    func.count(),
                    func.count(CommentReview.reply),
                    func.max(CommentReview.reviewed_at),
                    func.max(CommentReview.replied_at),
                    # A moderator's theme correction (issue #16) inserts rows dated now.
                    select(func.max(CommentTheme.assigned_at))
                    .where(CommentTheme.source == "moderator")
                    .scalar_subquery(),
                )
            ).one()
        )
        + actions_version()
    )
    with cache._lock:
        cache.comments_checked = (now, row)
    return row


def prerender(app: Flask, paths: Iterable[str] = ("/",), languages: Iterable[str] = ("vi", "en")) -> int:
    """Render ``paths`` into this process's cache as anonymous visitors at ``PUBLIC_BASE_URL`` would.

    ``wsgi.py`` calls it (through :func:`webapp.warm_up`) in gunicorn's master, before the
    workers are forked: each worker, including those ``max_requests`` restarts, inherits
    these pages (and SQLAlchemy's compiled statements) instead of rendering them cold while
    requests queue. The entries are keyed like any other, so they serve only while the
    snapshots are the same. Any failure (no database yet) is logged and leaves the cache
    empty. The master's connections are closed afterwards. Returns the pages stored.
    """
    config = app.config
    if not config.get("PUBLIC_PAGE_CACHE", not config.get("TESTING", False)):
        return 0
    client = app.test_client()
    stored = 0
    try:
        for path in paths:
            for language in languages:
                response = client.get(path, base_url=config["PUBLIC_BASE_URL"], headers={"Accept-Language": language})
                stored += response.status_code == 200
    except Exception:  # noqa: BLE001  (the site must start without these pages)
        logging.getLogger(__name__).warning("pages not prerendered", exc_info=True)
    finally:
        _close_probe()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    return stored


@limiter.request_filter
def _is_cached_page() -> bool:
    """Flask-Limiter skips its work for the views of :func:`cached_page` (they have no limits)."""
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, "page_cached", False)


def cached_page(vary: Callable[..., Hashable] | None = None) -> Callable[[View], View]:
    """Serve a view's rendered page from :class:`PageCache` (see the module docstring).

    The view must answer with the HTML (a ``str``) of a page that depends only on published
    data, the language, its address and what ``vary(**view_args)`` returns (for data that
    changes outside publications, such as moderated comments). Cached pages are not rate
    limited (no limit applies to them, and a hit costs less than counting it): a
    ``@limiter.limit`` on such a view, or a default limit, would not apply to it.
    """

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not (_enabled() and _cacheable_request()):
                return view(*args, **kwargs)
            cache = page_cache()
            view_args = tuple(sorted(kwargs.items()))
            language = str(get_locale())
            address = _address()
            # Read before rendering: a publication while the view renders can only make the key older than the page.
            version = snapshots_version()
            varied = vary(**kwargs) if vary else None
            key = _key(request.endpoint, view_args, language, address, request.query_string, version, varied)
            found = cache.get(key)
            if found is None:
                before = _per_request_state()
                response = view(*args, **kwargs)
                if not (isinstance(response, str) and _per_request_state() == before):
                    return response
                found = response.encode()
                cache.put(key, found)
            if not request.query_string and not _login_cookie(request.cookies, current_app.config):
                rule = request.url_rule.rule if request.url_rule is not None else ""
                route = Route(request.endpoint or "", rule, view_args, vary)
                cache.learn(address, route, request.headers.get("Accept-Language"), language)
            return _html_response(found)

        wrapper.page_cached = True  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


#: Stand-ins, in :meth:`FastPath._fixed_headers`, for the values made anew for every response.
_NONCE_MARK = secrets.token_urlsafe(16)
_REQUEST_ID_MARK = f"request-id-{secrets.token_hex(16)}"


class Route(NamedTuple):
    """What the normal path found for an address: the view, its URL rule and arguments, its ``vary``."""

    endpoint: str
    rule: str
    view_args: tuple[tuple[str, Any], ...]
    vary: Callable[..., Hashable] | None


class FastPath:
    """A WSGI layer in front of Flask that answers cache hits without Flask's request machinery.

    It serves only what the normal path would answer from :class:`PageCache` anyway: a ``GET``
    with no query string and no session or "remember me" cookie (so no signed-in user and no
    remembered language), for an address (scheme, host, root path, path) whose page the normal
    path has served to such a request, with an ``Accept-Language`` header it has seen: the
    normal path records the view it routed to and the language ``i18n.select_locale`` chose
    (:meth:`PageCache.learn`), so the fast path never decides either itself. The key is then
    made by :func:`_key`, as in the normal path (same date, snapshots version and ``vary``,
    read at this request: a publication shows at once).

    On a hit it writes the stored page with the headers the normal path sends, made by the
    same functions (:meth:`_fixed_headers`) with a fresh CSP nonce and request id, and writes
    the same request log line and request metrics. Anything else (a miss, ``HEAD``, ``POST``, any query, a cookie, an
    address or header not seen yet, an untrusted host) goes to Flask unchanged. Rate limits are
    not involved: cached pages have none (:func:`_is_cached_page`).

    On unless ``PUBLIC_FAST_PATH`` is false; only where the page cache is on (:func:`_enabled`).
    """

    def __init__(self, app: Flask, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        #: (page length, embeddable, https) -> (status, headers with :data:`_NONCE_MARK` and
        #: :data:`_REQUEST_ID_MARK`): what the functions below give for such a page, once.
        self._headers: dict[tuple[int, bool, bool], tuple[str, list[tuple[str, str]]]] = {}
        self._engine: Any = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "GET" and not environ.get("QUERY_STRING"):
            answer = self.answer(environ)
            if answer is not None:
                status, headers, body = answer
                start_response(status, headers)
                return [body]
        return self.wsgi_app(environ, start_response)

    def answer(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes] | None:
        """Status, headers and page of a cache hit, or None to let Flask answer."""
        started = time.perf_counter()
        app = self.app
        config = app.config
        cache = app.extensions.get("public_page_cache")
        if cache is None or not config.get("PUBLIC_FAST_PATH", True) or not _enabled(config):
            return None
        request_ = app.request_class(environ)
        if config["TRUSTED_HOSTS"] is not None:  # as Flask's request context does
            request_.trusted_hosts = config["TRUSTED_HOSTS"]
        try:
            if _login_cookie(request_.cookies, config):
                return None
            address = (request_.scheme, request_.host, request_.root_path, request_.path)
        except SecurityError:  # an untrusted host: Flask answers 400
            return None
        route = cache.route(address)
        language = cache.language(environ.get("HTTP_ACCEPT_LANGUAGE"))
        if route is None or language is None:
            return None
        version = probed_version(self._database())
        if version is None:  # no probe connection: Flask reads the version through the session
            return None
        varied = None
        if route.vary is not None:
            with app.app_context():
                varied = route.vary(**dict(route.view_args))
        body = cache.get(
            _key(route.endpoint, route.view_args, language, address, b"", version, varied), count_miss=False
        )
        if body is None:
            return None
        cache.fast_hits += 1
        request_id = incoming_request_id(environ.get("HTTP_X_REQUEST_ID"))
        status, headers = self._fixed_headers(request_, route, body)
        nonce = new_nonce()
        headers = [
            (name, request_id if value == _REQUEST_ID_MARK else value.replace(_NONCE_MARK, nonce))
            for name, value in headers
        ]
        self._count(route.endpoint, started)
        write_line(
            line_fields(
                method="GET",
                route=route.rule,
                path=masked_path(request_.path, dict(route.view_args)),
                query_keys=None,
                status=int(status.split(" ", 1)[0]),
                started=started,
                request_id=request_id,
                remote_addr=request_.remote_addr,
                user_id=None,
            )
        )
        return status, headers, body

    def _database(self) -> Any:
        """The application's engine (the same object for its lifetime: workers only dispose its pool)."""
        if self._engine is None:
            with self.app.app_context():
                self._engine = db.engine
        return self._engine

    def _fixed_headers(self, request_: Any, route: Route, body: bytes) -> tuple[str, list[tuple[str, str]]]:
        """The normal path's status and headers for ``body``, with marks for the nonce and request id.

        Made by the normal path's own functions, once per page length, embeddable or not and
        HTTPS or not (what they depend on): :func:`_html_response`, ``set_security_headers``,
        the session interface's ``open_session`` and ``save_session`` for the empty session of a
        request without a cookie, read as select_locale reads it (``Vary: Cookie``, no cookie),
        and werkzeug's ``get_wsgi_headers``, as Flask's response does.
        """
        app = self.app
        embeddable = is_embeddable_view(app.view_functions.get(route.endpoint))
        key = (len(body), embeddable, request_.is_secure)
        found = self._headers.get(key)
        if found is None:
            with app.app_context():
                response = _html_response(body)
                set_security_headers(response.headers, _NONCE_MARK, embeddable=embeddable, secure=request_.is_secure)
                response.headers[REQUEST_ID_HEADER] = _REQUEST_ID_MARK
                session = app.session_interface.open_session(app, request_)
                if session is not None:
                    session.accessed = True
                    app.session_interface.save_session(app, session, response)
                found = (response.status, response.get_wsgi_headers(request_.environ).to_wsgi_list())
            if len(self._headers) >= MAX_ENTRIES:
                self._headers.clear()
            self._headers[key] = found
        return found

    def _count(self, endpoint: str, started: float) -> None:
        """The request metrics of ``webapp.ops.metrics``'s ``after_request`` hook, when they are on."""
        if not self.app.config.get("METRICS_ENABLED"):
            return

        record_request("GET", endpoint, 200, time.perf_counter() - started)
