"""Survey-link deliveries by e-mail, SMS and Zalo, opt-outs and daily caps (issue #15); never a contact."""

from __future__ import annotations

__all__: list[str] = []
