"""Isolating what people typed (reviewsite/text.py): only text that has something directional in
it is wrapped, so plain names keep their exact bytes in subjects and titles."""

from __future__ import annotations

import pytest

from reviewsite.text import isolate

FSI, PDI = "\u2068", "\u2069"


@pytest.mark.parametrize("plain", ["Corner Cafe", "Joe's Diner & Bar (1999) <b>", "Café Ünïcode", "日本語", ""])
def test_text_with_nothing_directional_stays_as_it_is(plain):
    assert isolate(plain) == plain


@pytest.mark.parametrize("directional", [
    "Evil\u202emoc.elpmaxe",  # RIGHT-TO-LEFT OVERRIDE
    "\u05de\u05e1\u05e2\u05d3\u05d4",  # Hebrew letters
    "\u0645\u0637\u0639\u0645 Corner",  # Arabic letters, then Latin
    "price \u0661\u0662",  # Arabic-Indic digits
    "a\u2067b",  # RIGHT-TO-LEFT ISOLATE
])
def test_text_with_anything_directional_is_isolated(directional):
    assert isolate(directional) == f"{FSI}{directional}{PDI}"
