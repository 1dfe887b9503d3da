"""From scores to action (issue #16): what each page shows of key drivers, comment themes and
action plans.

Each module gives a page section as a small object (or ``None`` when there is nothing to show):
``public_section(unit)`` for the public unit page, ``agency_section(unit)`` for the agency's unit
dashboard. The pages include ``public/_<name>.html`` and ``agency/_<name>.html``.
"""
