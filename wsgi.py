"""WSGI entry point for gunicorn: ``gunicorn -c gunicorn.conf.py wsgi:app``."""

from webapp import create_app, warm_up

app = create_app()
warm_up(app)  # in gunicorn's master: every worker starts with compiled templates
