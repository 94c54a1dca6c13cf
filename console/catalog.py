"""The console's message catalogues: extract the texts from the code and the
templates, merge them into each language's .po and compile the .mo files.

    python -m console.catalog           # update the .po files and compile them
    python -m console.catalog --check   # fail when a text has no translation

The .po and the compiled .mo are both kept in the repository, so the console
runs from a fresh clone with no build step; a test checks they agree.
"""
from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

HERE = Path(__file__).resolve().parent
TRANSLATIONS = HERE / "translations"
LANGUAGES = ("es", "en")
METHODS = [("templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None, "N_": None}


def extract() -> Catalog:
    template = Catalog(project="cadena-console", fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
            str(HERE), METHODS, keywords=KEYWORDS, comment_tags=("TRANSLATORS:",), strip_comment_tags=True):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def po_path(lang: str) -> Path:
    return TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"


def read(lang: str) -> Catalog:
    with po_path(lang).open("rb") as fh:
        return read_po(fh, locale=lang)


def untranslated(template: Catalog, catalog: Catalog) -> list:
    """Texts of the code that this catalogue lacks or leaves empty (or fuzzy)."""
    missing = []
    for message in template:
        if not message.id:
            continue
        found = catalog.get(message.id, context=message.context)
        strings = found.string if found else None
        if isinstance(strings, (list, tuple)):
            empty = not all(strings)
        else:
            empty = not strings
        if found is None or empty or found.fuzzy:
            missing.append(message.id)
    return missing


def compiled(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog)
    return out.getvalue()


def update() -> None:
    template = extract()
    for lang in LANGUAGES:
        path = po_path(lang)
        path.parent.mkdir(parents=True, exist_ok=True)
        catalog = read(lang) if path.exists() else Catalog(locale=lang)
        catalog.update(template, no_fuzzy_matching=True)
        with path.open("wb") as fh:
            write_po(fh, catalog, omit_header=False, no_location=True, sort_output=True, ignore_obsolete=True)
        path.with_suffix(".mo").write_bytes(compiled(read(lang)))


def main(argv: list[str]) -> int:
    if "--check" in argv:
        template = extract()
        gaps = {lang: untranslated(template, read(lang)) for lang in LANGUAGES}
        for lang, ids in gaps.items():
            for msgid in ids:
                print(f"{lang}: untranslated: {msgid!r}")
        return 1 if any(gaps.values()) else 0
    update()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
