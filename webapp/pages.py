"""Site-wide pages that belong to no single audience: the home page and the health check."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from sqlalchemy import select, text

from webapp.access import PUBLIC, declare_access
from webapp.extensions import db
from webapp.models import Unit

pages = declare_access(Blueprint("pages", __name__), PUBLIC)


@pages.get("/")
def home():
    from public.summaries import fetch_headlines

    unit_count = db.session.scalar(select(db.func.count(Unit.id)))
    return render_template("home.html", headlines=fetch_headlines(), unit_count=unit_count)


@pages.get("/healthz")
def healthz():
    """200 when the database answers; 503 otherwise (load balancers take the server out)."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any driver error means "not healthy"
        db.session.rollback()
        return jsonify(status="unavailable", database="down"), 503
    return jsonify(status="ok", database="ok")
