"""Interface catalogs of the language packs: the pack's strings, then Vietnamese (never English).

Flask-Babel loads one catalog per locale; a string missing from it would fall back to its msgid,
the English source. :class:`PackDomain` gives a pack's catalog the Vietnamese catalog as its
gettext fallback, so an untranslated string reads in Vietnamese, the language every respondent
in Sơn La is schooled in. Vietnamese and English load exactly as before.
"""

from __future__ import annotations

from pathlib import Path

from babel import support
from flask_babel import Domain, _get_current_context, get_babel, get_locale

from surveys import languages as registry


class PackDomain(Domain):
    """Flask-Babel's default domain, with a fallback chain for language packs."""

    def get_translations(self):
        locale = get_locale()
        code = str(locale) if locale is not None else None
        if code is None or code in registry.BUILT_IN:
            return super().get_translations()
        ctx = _get_current_context()
        found = getattr(ctx, "pack_translations", None)
        if found is not None and found[0] == code:
            return found[1]
        directories = tuple(get_babel().translation_directories)
        stamps = tuple(
            registry.file_stamp(Path(d) / c / "LC_MESSAGES" / "messages.mo")
            for d in directories
            for c in (code, registry.SOURCE)
        )
        key = (directories, code, stamps)
        translations = self.cache.get(key)
        if translations is None:
            translations = _load(directories, code)
            translations.add_fallback(_load(directories, registry.SOURCE))
            self.cache[key] = translations
        ctx.pack_translations = (code, translations)
        return translations


def _load(directories: tuple[str, ...], code: str) -> support.Translations:
    translations = support.Translations()
    for directory in directories:
        translations.merge(support.Translations.load(directory, [code], "messages"))
    return translations
