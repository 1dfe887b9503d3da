"""WSGI entry point for gunicorn: ``gunicorn -c gunicorn.conf.py wsgi:app``.

``PUBLIC_FAST_PATH=0`` in the environment switches off the fast path of cached public pages
(``public.cache.FastPath``): every request then goes through Flask, as before issue #18.
"""

import os

from webapp import create_app, warm_up

app = create_app()
if os.environ.get("PUBLIC_FAST_PATH") == "0":
    app.config["PUBLIC_FAST_PATH"] = False
warm_up(app)  # in gunicorn's master: every worker starts with compiled templates
