"""The site's rules: what a report can say is wrong and what a moderator's decision cites.

One fixed list (``models.Rule`` holds the ids, the database checks them). Every rule is about
what was written or done, never about the rating: the same fault is the same fault at 1 star and
at 5 (invariant 9). Some apply only in a private thread (an offer tied to the review, a demand, a
pressure); the first four of those can earn a business a public notice.
"""

from __future__ import annotations

from dataclasses import dataclass

from reviewsite.models import ItemKind, Rule


@dataclass(frozen=True)
class RuleText:
    rule: Rule
    number: int
    title: str  # short, as in "removed by moderators on <date>: <title>"
    description: str
    thread_only: bool = False

    @property
    def anchor(self) -> str:
        return f"rule-{self.rule.value.replace('_', '-')}"


RULES: dict[Rule, RuleText] = {
    text.rule: text
    for text in (
        RuleText(Rule.PERSONAL_INFO, 1, "Personal information",
                 "Names, phone numbers, addresses, email addresses or other details that identify a private "
                 "person (staff included), or anything about someone's health, family or private life."),
        RuleText(Rule.HARASSMENT, 2, "Hate or harassment",
                 "Insults, slurs or attacks on a person or a group, or hostile messages sent again and again."),
        RuleText(Rule.THREATS, 3, "Threats",
                 "Threats of violence or harm, or of exposing someone or their private information."),
        RuleText(Rule.SPAM, 4, "Spam or advertising",
                 "Promotion of another business, links or offers for sale, repeated or machine-made posts."),
        RuleText(Rule.NOT_GENUINE, 5, "Not a genuine experience or a conflict of interest",
                 "Written without a real experience of the business, for payment or a reward, by its owners, "
                 "staff or competitors, or a listing for a business that does not exist."),
        RuleText(Rule.OFF_TOPIC, 6, "Off-topic",
                 "Not about an experience with this business: another business, politics, a general complaint."),
        RuleText(Rule.ILLEGAL, 7, "Illegal content",
                 "Anything it is unlawful to publish, such as a statement a court found defamatory or a copyright "
                 "infringement."),
        RuleText(Rule.CONDITIONED_OFFER, 8, "An offer conditioned on the review",
                 "An offer, refund or favour that depends on changing, upgrading, removing or not publishing the "
                 "review. Offers may never depend on the review.", thread_only=True),
        RuleText(Rule.DEMAND, 9, "A demand in exchange for a review",
                 "Asking for money, free goods or favours in exchange for writing, changing or removing a review.",
                 thread_only=True),
        RuleText(Rule.PRESSURE, 10, "Pressure or intimidation",
                 "Pushing the other side to change or remove a review, or to accept something, by repetition, "
                 "threats of legal action or intimidation.", thread_only=True),
    )
}

# A business found doing one of these in a private thread may get a public notice.
NOTICE_RULES = frozenset({Rule.CONDITIONED_OFFER, Rule.DEMAND, Rule.PRESSURE, Rule.THREATS})


def rule_text(rule: Rule | str) -> RuleText:
    return RULES[Rule(rule)]


def rules_for(kind: ItemKind) -> list[RuleText]:
    """The reasons a report of this kind of item may give, in the rules' order."""
    return [text for text in RULES.values() if kind is ItemKind.MESSAGE or not text.thread_only]
