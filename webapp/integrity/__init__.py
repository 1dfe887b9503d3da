"""Integrity of the ratings (issue #12): signals of stuffing, their weekly summary, and the
administrator's review of flagged responses (reinstate / exclude, both audited).

``signals`` computes, ``summary`` condenses for a week, ``review`` changes a response's
status; the admin page (``webapp/admin/integrity_views.py``) and the CLI
(``flask --app webapp integrity ...``, ``webapp/integrity/cli.py``) call the same functions.
"""
