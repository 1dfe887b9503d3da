"""The site with the public page cache switched off, for the "before" figures of bench/page_load.py.

gunicorn -c gunicorn.conf.py bench.wsgi_nocache:app
"""

from wsgi import app

app.config["PUBLIC_PAGE_CACHE"] = False
