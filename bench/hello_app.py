"""The bare Flask "hello" application that bench/page_load.py measures beside the site.

    gunicorn -c gunicorn.conf.py bench.hello_app:app

It runs under the same ``gunicorn.conf.py`` as the site, so Flask-SQLAlchemy is bound to an
in-memory SQLite database only because the config's ``post_fork`` hook disposes
``db.engine`` in every worker; no request touches it.
"""

from __future__ import annotations

from flask import Flask

from webapp.extensions import db

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
db.init_app(app)


@app.get("/")
def hello() -> str:
    """The cheapest page Flask can serve: the ceiling the site is compared with."""
    return "hello"
