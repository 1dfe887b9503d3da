"""Assisted interviews (issue #17): an interviewer fills the survey with a respondent who cannot read
or use a phone.

An ``interviewer`` account (commune officers, volunteers) is scoped to a unit's subtree like the
agency roles, and sees no results: after signing in it lands on ``/interview``, picks a unit of its
subtree and one of its services, and answers the unit's active survey with the respondent through
the online survey's own pages (:mod:`surveys.online`, flow :data:`webapp.interview.views.INTERVIEW`).

- The response is stored with channel ``online`` and mode ``assisted``; who assisted is never on
  the response: an audit event ``response.assisted`` records the account and the response id
  (the audit log is for administrators only).
- Agencies cannot rate themselves: the unit the account is attached to (its own office) is not
  offered, and answers 403, like a unit outside its subtree.
- Each respondent's answers live in the session under their own key, apart from anything the
  interviewer does otherwise, and leave it when the response is stored; "Next respondent" starts
  afresh.
- Administrators do not use the area: every assisted response counts in the published figures,
  so training happens on the demo site (``make run``; ``flask users create --role interviewer --unit CODE``).

See docs/interviews.md.
"""

from __future__ import annotations

from flask import Flask

from webapp.interview.views import interview


def init_app(app: Flask) -> None:
    """Register the interview area."""

    app.register_blueprint(interview)
