"""The translation catalogs in the repository are complete and compiled (docs/translations.md).

Pure Python, so a fresh machine needs no GNU gettext to run it: ``.po`` files are read by
``tests/support/pofile.py``, ``.mo`` files by the standard library's ``gettext``, and the
strings the code marks are found with Django's own ``templatize`` (templates), Python's
tokenizer (Python) and a pattern (the shop's scripts, which call ``gettext('...')`` with
single-quoted literals). It fails when:

- a ``.po`` has an untranslated, fuzzy or obsolete entry;
- a ``.mo`` is not the compilation of its ``.po`` (edited without ``make compilemessages``);
- a string marked in a template, in Python or in a script has no translation (marked without
  ``make messages`` and a translation).
"""

from __future__ import annotations

import gettext
import io
import re
import tokenize
from pathlib import Path

import pytest
from django.conf import settings
from django.utils.translation.template import templatize

from tests.support.pofile import CONTEXT_SEPARATOR, Entry, parse

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "boxoffice"
LOCALE = ROOT / "boxoffice" / "locale"
DOMAINS = ("django", "djangojs")
TRANSLATED = [code for code, _ in settings.LANGUAGES if code != settings.LANGUAGE_CODE]
CATALOGS = [
    LOCALE / lang / "LC_MESSAGES" / f"{domain}.po" for lang in TRANSLATED for domain in DOMAINS
]

# name -> (index of the context argument or None, index of the msgid, index of the plural)
KEYWORDS: dict[str, tuple[int | None, int, int | None]] = {
    "gettext": (None, 0, None),
    "gettext_lazy": (None, 0, None),
    "gettext_noop": (None, 0, None),
    "_": (None, 0, None),
    "ngettext": (None, 0, 1),
    "ngettext_lazy": (None, 0, 1),
    "pgettext": (0, 1, None),
    "pgettext_lazy": (0, 1, None),
    "npgettext": (0, 1, 2),
    "npgettext_lazy": (0, 1, 2),
}


def _key(context: str | None, msgid: str) -> str:
    return f"{context}{CONTEXT_SEPARATOR}{msgid}" if context else msgid


def _calls_in_tokens(text: str) -> set[str]:
    """The keys of every keyword call with literal arguments in Python-like ``text``."""
    found: set[str] = set()
    tokens = [
        t
        for t in tokenize.generate_tokens(io.StringIO(text).readline)
        if t.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT)
    ]
    for i, token in enumerate(tokens[:-1]):
        if token.type != tokenize.NAME or token.string not in KEYWORDS:
            continue
        if tokens[i + 1].string != "(" or (i and tokens[i - 1].string in ("def", "class")):
            continue
        args: list[str | None] = []
        current: list[str] = []
        literal = True
        for t in tokens[i + 2 :]:
            if t.string in (",", ")"):
                args.append("".join(current) if literal and current else None)
                current, literal = [], True
                if t.string == ")":
                    break
            elif t.type == tokenize.STRING and not t.string.lower().startswith(("f", "rf", "fr")):
                current.append(_literal(t.string))
            else:
                literal = False
                if t.string == "(":  # a nested call: not a literal argument; stop here
                    break
        context_at, msgid_at, _plural = KEYWORDS[token.string]
        if len(args) <= msgid_at or args[msgid_at] is None:
            continue
        context = args[context_at] if context_at is not None else None
        found.add(_key(context, args[msgid_at]))  # type: ignore[arg-type]
    return found


def _literal(source: str) -> str:
    import ast

    return ast.literal_eval(source)


def marked_in_templates() -> set[str]:
    found: set[str] = set()
    for path in SOURCES.rglob("templates/**/*"):
        if path.suffix in (".html", ".txt"):
            found |= _calls_in_tokens(templatize(path.read_text(), origin=str(path)))
    return found


def marked_in_python() -> set[str]:
    found: set[str] = set()
    for path in SOURCES.rglob("*.py"):
        if "migrations" not in path.parts:
            found |= _calls_in_tokens(path.read_text())
    return found


JS_CALL = re.compile(r"\b(n?p?gettext)\(((?:\s*'(?:[^'\\]|\\.)*'\s*,)*\s*'(?:[^'\\]|\\.)*')")
JS_STRING = re.compile(r"'((?:[^'\\]|\\.)*)'")
JS_COMMENT = re.compile(r"(^|\s)//.*$", re.MULTILINE)  # a line comment (not "https://")


def marked_in_scripts() -> set[str]:
    found: set[str] = set()
    for path in (SOURCES / "shop" / "static").rglob("*.js"):
        for name, args in JS_CALL.findall(JS_COMMENT.sub(r"\1", path.read_text())):
            strings = [_literal(f"'{s}'") for s in JS_STRING.findall(args)]
            context_at, msgid_at, _plural = KEYWORDS[name]
            if len(strings) > msgid_at:
                context = strings[context_at] if context_at is not None else None
                found.add(_key(context, strings[msgid_at]))
    return found


def _entries(path: Path) -> list[Entry]:
    return [e for e in parse(path) if e.msgid or e.msgctxt]


@pytest.mark.parametrize("po", CATALOGS, ids=lambda p: f"{p.parts[-3]}/{p.name}")
def test_every_entry_is_translated_and_none_is_fuzzy_or_obsolete(po: Path):
    assert po.exists(), f"{po} is missing: make messages"
    header = parse(po)[0]
    assert header.msgid == ""
    assert f"Language: {po.parts[-3]}\n" in header.msgstr
    assert not header.fuzzy, f"{po}: the header is fuzzy"
    problems = [
        f"{'fuzzy' if e.fuzzy else 'obsolete' if e.obsolete else 'untranslated'}: {e.key!r}"
        for e in _entries(po)
        if e.fuzzy or e.obsolete or not e.translated
    ]
    assert problems == [], f"{po.relative_to(ROOT)} needs translating:\n" + "\n".join(problems)


@pytest.mark.parametrize("po", CATALOGS, ids=lambda p: f"{p.parts[-3]}/{p.name}")
def test_each_mo_is_the_compilation_of_its_po(po: Path):
    mo = po.with_suffix(".mo")
    assert mo.exists(), f"{mo} is missing: make compilemessages"
    with mo.open("rb") as handle:
        compiled = dict(gettext.GNUTranslations(handle)._catalog)  # type: ignore[attr-defined]
    compiled.pop("", None)  # the header
    expected: dict[object, str] = {}
    for entry in _entries(po):
        if entry.obsolete or entry.fuzzy:
            continue  # msgfmt leaves them out
        if entry.msgid_plural is not None:
            for index, text in entry.msgstr_plural.items():
                expected[(entry.key, index)] = text
        else:
            expected[entry.key] = entry.msgstr
    assert compiled == expected, f"{mo.relative_to(ROOT)} is stale: make compilemessages"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_marked_string_has_a_translation(language: str):
    """A string marked for translation but missing from the catalog would show in English on
    a German page: run ``make messages``, translate, ``make compilemessages``."""
    base = LOCALE / language / "LC_MESSAGES"
    for domain, marked in (
        ("django", marked_in_templates() | marked_in_python()),
        ("djangojs", marked_in_scripts()),
    ):
        translated = {e.key for e in _entries(base / f"{domain}.po") if e.translated}
        missing = sorted(marked - translated)
        assert missing == [], f"{domain}.po ({language}) lacks: {missing}"


def test_the_finders_find_what_they_should():
    """The check above is only as good as its finders: they see each kind of mark."""
    templates, python, scripts = marked_in_templates(), marked_in_python(), marked_in_scripts()
    assert "My bookings" in templates  # {% translate %}
    assert "Cancel and refund %(refund)s" in templates  # {% blocktranslate with %}
    assert f"navigation{CONTEXT_SEPARATOR}Main" in templates  # {% translate ... context %}
    assert "l j F Y" in templates  # _() in a filter argument
    assert f"booking status{CONTEXT_SEPARATOR}pending" in python  # pgettext_lazy
    assert "Your tickets for %(title)s" in python  # gettext as _
    assert "Total for %(count)s seat" in scripts  # ngettext
    assert f"seat status{CONTEXT_SEPARATOR}available" in scripts  # pgettext
