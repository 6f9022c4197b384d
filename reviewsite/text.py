"""Showing text that people typed next to other text.

A name may hold bidirectional controls (U+202E RIGHT-TO-LEFT OVERRIDE and friends) or simply be
written right to left; shown as it is, it can reverse the words around it (a business named
"Evil" + U+202E + "moc.elpmaxe" reads as "Evilexample.com"). Isolated, it keeps its own direction and cannot
reach its neighbours: ``<bdi>`` in HTML (and ``dir="auto"`` on a block of user text, in the
templates), U+2068 FIRST STRONG ISOLATE ... U+2069 POP DIRECTIONAL ISOLATE where markup cannot
go (a page title, an attribute, an email subject, a flashed message).
"""

from __future__ import annotations

import unicodedata

from markupsafe import Markup

# Bidirectional classes that can change how the text around a value reads: right-to-left
# letters and digits, and the explicit embeddings, overrides and isolates.
_DIRECTIONAL = frozenset({"R", "AL", "AN", "LRE", "LRO", "RLE", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"})


def isolate(value: object) -> str:
    """The value between FSI and PDI where it has anything directional, else as it is (a
    subject or a summary of plain left-to-right words keeps its exact bytes)."""
    text = str(value)
    if text.isascii():  # no ASCII character is directional: one pass in C instead of one call each
        return text
    if any(unicodedata.bidirectional(character) in _DIRECTIONAL for character in text):
        return f"\u2068{text}\u2069"
    return text


def bdi(value: object) -> Markup:
    return Markup("<bdi>%s</bdi>") % (value,)  # the value is escaped
