"""Condition language: words that tie what a business offers to the review ("if you update your
review", "once you take this down", "a refund for a 5-star review").

DESIGN.md: offers may never depend on the review. The structured offer cannot state a condition;
this catches one in free text (a thread message, an offer's note) before it is sent. A sentence
is caught when it asks for the review to be changed, raised or removed *and* links that to
something (if, once, when, after, in exchange, and we will ...), or when it trades something for
a review outright. Asking for a change alone ("please update me when you can", "we changed our
supplier after your review") is not a condition and is left alone: the asking words must be
followed closely by the review itself, or by "it"/"this" taken down.

English only. The table of phrasings that must and must not match is in
``tests/services/test_conditions.py``; a new pattern goes here with new rows there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from reviewsite.services.errors import Invalid

# Words allowed between the verb and "review": a possessive, an article, a rating, an adjective.
_GAP = r"(?:(?:your|the|this|that|my|our|its|a|an|one|public|online|google|negative|bad|low|poor|harsh|unfair|old|"\
       r"recent|last|\S+-star|\d\s*stars?|[1-5])\s+){0,3}"
_REVIEW = r"(?:review|rating|stars?|score|feedback|comments?|post)\b"

# What asks for the review to change, in any tense ("update", "updated", "updating").
CHANGE_PATTERNS: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern, re.IGNORECASE)
    for name, pattern in {
        "change the review": rf"\b(?:updat|chang|edit|amend|revis|modif|adjust|rewrit|reconsider|correct|fix)\w*\s+{_GAP}{_REVIEW}",
        "raise the rating": rf"\b(?:rais|upgrad|improv|increas|bump|boost|lift)\w*\s+(?:up\s+)?{_GAP}{_REVIEW}",
        "a rating of 4 or 5 stars": r"\b(?:to|into|at|give\s+us|leave\s+us|make\s+it)\s+(?:a\s+)?(?:4|5|four|five)(?:[\s-]+stars?\b|[\s-]+star\s+review\b)",
        "remove the review": rf"\b(?:remov|delet|withdraw|retract|pull|erase|hid)\w*\s+(?:down\s+)?{_GAP}{_REVIEW}",
        "take the review down": rf"\b(?:take|taking|took|taken|put|bring)\s+(?:{_GAP}{_REVIEW}|it|this|that)\s+down\b"
                                rf"|\b(?:take|taking|took)\s+down\s+{_GAP}{_REVIEW}",
        "the review gone": rf"\b{_REVIEW}\s+(?:is|was|has\s+been|gets|goes)\s+(?:gone|removed|deleted|down|taken\s+down|"
                           r"updated|changed|edited|raised|withdrawn)",
    }.items()
}

# What makes it a condition: a link between the change and something offered.
LINK = re.compile(
    r"\b(?:if|once|when|whenever|after|provided|providing|as\s+soon\s+as|as\s+long\s+as|in\s+exchange|in\s+return|"
    r"so\s+that|on\s+condition|only\s+if|unless|until|then)\b"
    r"|\band\s+(?:we|i)(?:'ll|’ll|\s+will|\s+can|\s+could|\s+would|\s+shall)\b"
    r"|\band\s+(?:you(?:'ll|’ll|\s+will|\s+get|\s+can\s+have)\b|the\s+\w+\s+is\s+yours\b)"
    r"|\b(?:we|i)(?:'ll|’ll|\s+will|\s+can|\s+could|\s+would)\s+(?:\w+\s+){0,6}?(?:if|once|when|after)\b",
    re.IGNORECASE,
)

# A trade stated outright needs no link word: "a free meal for a 5-star review".
TRADE_PATTERNS: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern, re.IGNORECASE)
    for name, pattern in {
        "something for a better review": r"\bfor\s+(?:a|an|your)\s+(?:better|good|great|positive|higher|nicer|glowing|"
                                         r"new|updated|revised|(?:4|5|four|five)[\s-]*star)\s+(?:review|rating)\b",
        "something for removing the review": rf"(?<!thank you )(?<!thanks )\bfor\s+(?:removing|deleting|withdrawing|changing|updating|editing|taking\s+down)\s+{_GAP}{_REVIEW}",
        "in exchange for the review": rf"\bin\s+(?:exchange|return)\s+for\s+{_GAP}{_REVIEW}",
    }.items()
}

_SENTENCES = re.compile(r"(?<=[.!?;])\s+|\n+")


@dataclass(frozen=True)
class Found:
    """One sentence that ties something to the review, and what kind of tie it is."""

    pattern: str
    sentence: str


def find(text: str) -> list[Found]:
    """The sentences of ``text`` that make something depend on the review (empty if none)."""
    found = []
    for sentence in _SENTENCES.split(text or ""):
        sentence = sentence.strip()
        if not sentence:
            continue
        name = next((name for name, pattern in TRADE_PATTERNS.items() if pattern.search(sentence)), None)
        if name is None and LINK.search(sentence):
            name = next((name for name, pattern in CHANGE_PATTERNS.items() if pattern.search(sentence)), None)
        if name is not None:
            found.append(Found(name, sentence))
    return found


class ConditionLanguage(Invalid):
    """A business's message or offer ties something to the review; it was not sent."""

    def __init__(self, found: list[Found], *, offer: bool) -> None:
        self.found = found
        quoted = found[0].sentence if len(found[0].sentence) <= 160 else found[0].sentence[:157] + "..."
        noun = "offer" if offer else "message"
        super().__init__(
            f"Not sent: offers may never depend on the review. “{quoted}” ties what you offer to the review being "
            f"changed or removed. Edit your {noun} to take the condition out, or withdraw it. If you send it "
            f"anyway, it is flagged to our moderators and marked for the reviewer."
        )
