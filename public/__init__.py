"""The transparency site and the read-only public API."""
