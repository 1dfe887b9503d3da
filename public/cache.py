"""Per-process cache of the public pages' rendered content, keyed on the published data.

A public page shows published snapshots only, and published snapshots never change: a new
publication adds a snapshot (or a new revision of one). So the rendered blocks of a page
(``title``, ``head``, ``content`` …, everything its template defines) are a function of

* the view and its URL arguments (``/indicators/<code>``, ``/units/<code>``),
* the language of the page (``vi`` or ``en``: one language's HTML is never served in the other),
* the set of published snapshots: ``count(*)``, ``max(id)`` and ``max(published_at)`` of
  ``published_snapshots``, one cheap query per request; any publication or revision changes it,
* the date (pages say which units are valid today),
* whatever else the view names with ``vary`` (the unit page: its moderated comments),

and :func:`cached_page` keeps them for :data:`TTL_SECONDS` at most (registry edits, such as a
renamed unit, show within that time). The layout around the blocks (``base.html``: navigation,
language switch, anything per request) is rendered for every request, so no per-request
value is ever cached. Only anonymous ``GET`` requests without query arguments other than
``lang`` use the cache; anything else runs the view as usual.

Each gunicorn worker has its own cache (``app.extensions``); since the key is the data, every
worker serves the same page for the same snapshots. The cache is on unless the application is
``TESTING``; ``PUBLIC_PAGE_CACHE`` turns it on or off explicitly.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextvars import ContextVar
from datetime import date
from typing import Any, TypeVar

from flask import Flask, current_app, g, request, template_rendered
from flask_babel import get_locale
from jinja2 import Template
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import PublishedSnapshot
from webapp.models.feedback import CommentReview

View = TypeVar("View", bound=Callable[..., Any])

#: How long a rendered page is kept at most, whatever happens to the snapshots.
TTL_SECONDS = 300.0
#: Pages kept per process (a unit page per unit and language is the bulk: 389 units × 2).
MAX_ENTRIES = 2048
#: How often each process reads the comments' version (moderation shows within this time).
COMMENTS_CHECK_SECONDS = 1.0
#: The templates rendered by the current request while :func:`cached_page` captures them.
_captured: ContextVar[list[tuple[Template, dict[str, Any]]] | None] = ContextVar("_captured", default=None)


class PageCache:
    """A thread-safe LRU of ``key -> (expiry, template name, {block name: HTML})``."""

    def __init__(self, max_entries: int = MAX_ENTRIES, ttl: float = TTL_SECONDS) -> None:
        self.max_entries = max_entries
        self.ttl = ttl
        self._entries: OrderedDict[Hashable, tuple[float, str, dict[str, str]]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        #: (when, value) of the last :func:`comments_version` read.
        self.comments_checked: tuple[float, tuple[Any, ...]] | None = None

    def get(self, key: Hashable) -> tuple[str, dict[str, str]] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] < time.monotonic():
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[1], entry[2]

    def put(self, key: Hashable, template_name: str, blocks: dict[str, str]) -> None:
        with self._lock:
            self._entries[key] = (time.monotonic() + self.ttl, template_name, blocks)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.comments_checked = None

    def __len__(self) -> int:
        return len(self._entries)


def page_cache(app: Flask | None = None) -> PageCache:
    """This application's cache in this process (made on first use)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    cache = app.extensions.get("public_page_cache")
    if cache is None:
        cache = app.extensions.setdefault("public_page_cache", PageCache())
    return cache


def snapshots_version() -> tuple[Any, ...]:
    """Changes whenever a snapshot or a revision is published (or one is deleted)."""
    row = db.session.execute(
        select(func.count(), func.max(PublishedSnapshot.id), func.max(PublishedSnapshot.published_at))
    ).one()
    return tuple(row)


def _enabled() -> bool:
    config = current_app.config
    return bool(config.get("PUBLIC_PAGE_CACHE", not config.get("TESTING", False)))


def _cacheable_request() -> bool:
    """Anonymous GET without query arguments other than ``lang``."""
    if request.method != "GET" or any(name != "lang" for name in request.args):
        return False
    from flask_login import current_user

    return not current_user.is_authenticated


def _key(view_args: dict[str, Any]) -> tuple[Any, ...]:
    return (
        request.endpoint,
        tuple(sorted(view_args.items())),
        str(get_locale()),
        request.host_url,
        date.today().isoformat(),
        snapshots_version(),
    )


def _record_template(sender: Flask, template: Template, context: dict[str, Any], **extra: Any) -> None:
    """``template_rendered`` receiver: remember what this request (and only it) rendered."""
    captured = _captured.get()
    if captured is not None:
        captured.append((template, context))


template_rendered.connect(_record_template)


def _render_blocks(template: Template, context: dict[str, Any]) -> dict[str, str]:
    """Each block the template defines, rendered with the view's context."""
    ctx = template.new_context(context)
    # Run the template once so that its top-level imports and assignments exist for the blocks.
    for _ in template.root_render_func(ctx):
        pass
    return {name: "".join(ctx.blocks[name][0](ctx)) for name in template.blocks}


def _render_with_blocks(template_name: str, blocks: dict[str, str]) -> str:
    """The page with its own blocks replaced by cached HTML; the layout rendered afresh."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    template = app.jinja_env.get_template(template_name)
    context: dict[str, Any] = {}
    app.update_template_context(context)
    ctx = template.new_context(context)

    def cached(html: str) -> Callable[[Any], Iterator[str]]:
        return lambda _context: iter((html,))

    for name, html in blocks.items():
        ctx.blocks[name] = [cached(html)]
    return "".join(template.root_render_func(ctx))


def comments_version(**_view_args: Any) -> tuple[Any, ...]:
    """Changes whenever any comment is published, hidden, edited, answered or reset.

    Every moderation step sets ``reviewed_at`` or ``replied_at`` to now (a maximum grows) or
    removes a review or a reply (a count falls), so no sequence of steps gives the same tuple.
    It covers every unit (one scan of the small ``comment_reviews`` table, where a per-unit
    query would join the responses) and is read at most every :data:`COMMENTS_CHECK_SECONDS`
    per process: a hidden comment leaves the cached pages within that time.
    """
    cache = page_cache()
    now = time.monotonic()
    with cache._lock:
        if cache.comments_checked is not None and now - cache.comments_checked[0] < COMMENTS_CHECK_SECONDS:
            return cache.comments_checked[1]
    row = tuple(
        db.session.execute(
            select(
                func.count(),
                func.count(CommentReview.reply),
                func.max(CommentReview.reviewed_at),
                func.max(CommentReview.replied_at),
            )
        ).one()
    )
    with cache._lock:
        cache.comments_checked = (now, row)
    return row


def cached_page(vary: Callable[..., Hashable] | None = None) -> Callable[[View], View]:
    """Serve a view's rendered blocks from :class:`PageCache` (see the module docstring).

    The view must answer with one ``render_template`` call for a page that depends only on
    published data, the language, its URL arguments and what ``vary(**view_args)`` returns
    (for data that changes outside publications, such as moderated comments).
    """

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not (_enabled() and _cacheable_request()):
                return view(*args, **kwargs)
            cache = page_cache()
            key = (*_key(kwargs), vary(**kwargs) if vary else None)
            found = cache.get(key)
            if found is not None:
                return _render_with_blocks(*found)
            captured: list[tuple[Template, dict[str, Any]]] = []
            token = _captured.set(captured)
            try:
                response = view(*args, **kwargs)
            finally:
                _captured.reset(token)
            # A page that asked for this response's CSP nonce carries it: never reuse it.
            if isinstance(response, str) and len(captured) == 1 and captured[0][0].name and "csp_nonce" not in g:
                template, context = captured[0]
                cache.put(key, template.name, _render_blocks(template, context))
            return response

        return wrapper  # type: ignore[return-value]

    return decorate
