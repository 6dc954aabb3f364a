"""A small reader of gettext ``.po`` catalogs, in pure Python, so the catalog tests need neither
GNU gettext nor a package from PyPI: just what ``makemessages`` writes (``msgctxt``, ``msgid``,
``msgid_plural``, ``msgstr``/``msgstr[n]``, ``#,`` flags, ``#~`` obsolete entries, strings
continued over several lines)."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

CONTEXT_SEPARATOR = "\x04"  # how a .mo file (and Python's gettext) keys a msgctxt


@dataclass
class Entry:
    msgid: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: str = ""
    msgstr_plural: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False

    @property
    def key(self) -> str:
        """The entry's key in a compiled catalog: ``context\\x04msgid`` or ``msgid``."""
        return f"{self.msgctxt}{CONTEXT_SEPARATOR}{self.msgid}" if self.msgctxt else self.msgid

    @property
    def fuzzy(self) -> bool:
        return "fuzzy" in self.flags

    @property
    def translated(self) -> bool:
        if self.msgid_plural is not None:
            return bool(self.msgstr_plural) and all(self.msgstr_plural.values())
        return bool(self.msgstr)


def _unquote(text: str) -> str:
    return ast.literal_eval(text.strip())


def parse(path: Path) -> list[Entry]:
    """Every entry of the catalog, the header (``msgid ""``) first."""
    entries: list[Entry] = []
    current = Entry()
    target: tuple[str, int | None] | None = None
    seen_keyword = False

    def finish() -> None:
        nonlocal current, target, seen_keyword
        if seen_keyword:
            entries.append(current)
        current, target, seen_keyword = Entry(), None, False

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        obsolete = line.startswith("#~")
        if obsolete:
            line = line[2:].strip()
        if not line:
            finish()
            continue
        if line.startswith("#,"):
            if seen_keyword:
                finish()
            current.flags |= {flag.strip() for flag in line[2:].split(",") if flag.strip()}
            continue
        if line.startswith("#"):
            if seen_keyword and not obsolete:
                finish()
            continue
        if line.startswith('"'):
            if target is None:
                raise ValueError(f"{path}: a string outside any entry: {raw!r}")
            _append(current, target, _unquote(line))
            continue
        keyword, _, rest = line.partition(" ")
        if keyword in ("msgctxt", "msgid") and seen_keyword and target[0] == "msgstr":  # type: ignore[index]
            finish()
        seen_keyword = True
        current.obsolete = current.obsolete or obsolete
        if keyword.startswith("msgstr["):
            target = ("msgstr", int(keyword[7:-1]))
        elif keyword in ("msgctxt", "msgid", "msgid_plural", "msgstr"):
            target = (keyword, None)
        else:
            raise ValueError(f"{path}: unknown keyword in {raw!r}")
        _set(current, target, _unquote(rest))
    finish()
    return entries


def _set(entry: Entry, target: tuple[str, int | None], value: str) -> None:
    name, index = target
    if name == "msgstr" and index is not None:
        entry.msgstr_plural[index] = value
    else:
        setattr(entry, name, value)


def _append(entry: Entry, target: tuple[str, int | None], value: str) -> None:
    name, index = target
    if name == "msgstr" and index is not None:
        entry.msgstr_plural[index] += value
    else:
        setattr(entry, name, (getattr(entry, name) or "") + value)
