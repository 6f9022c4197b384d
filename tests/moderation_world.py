"""A small world for trust-and-safety tests, built with factories and the real services: a
business with an owner and staff, a reviewer, a bystander, two moderators. Test modules import
the fixtures they use."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from reviewsite.models import ItemKind
from reviewsite.services import moderated_items, publication, reports, reviews, thread
from tests.factories import BusinessFactory, MembershipFactory, UserFactory


def published(business, author, clock, *, stars: int = 5, title: str = "Lovely", body: str = "Great coffee."):
    """A published review (a held one is released by its reviewer)."""
    review = reviews.submit_review(author, business, stars=stars, title=title, body=body, now=clock.now())
    if review.is_held:
        publication.release_now(review, author, now=clock.now())
    return review


def item(kind: ItemKind | str, item_id: int) -> moderated_items.Item:
    found = moderated_items.load(ItemKind(kind).value, item_id)
    assert found is not None
    return found


def report(reporter, found: moderated_items.Item, clock, reason: str = "personal_info", note: str = ""):
    return reports.file_report(reporter, found, reason, note, now=clock.now())


@pytest.fixture
def people(ctx, clock):
    shop = BusinessFactory(name="Corner Cafe", slug="corner-cafe")
    owner = UserFactory(email="owner@example.com", display_name="Olive")
    staff = UserFactory(email="staff@example.com", display_name="Stan")
    MembershipFactory(business=shop, user=owner)
    MembershipFactory(business=shop, user=staff, role="staff")
    reviewer = UserFactory(email="reviewer@example.com", display_name="Casey")
    bystander = UserFactory(email="bystander@example.com", display_name="Bea")
    other = UserFactory(email="other@example.com", display_name="Otto")
    mod = UserFactory(email="mod@example.com", display_name="Mo", moderator=True)
    mod2 = UserFactory(email="mod2@example.com", display_name="Maud", moderator=True)
    return SimpleNamespace(shop=shop, owner=owner, staff=staff, reviewer=reviewer, bystander=bystander,
                           other=other, mod=mod, mod2=mod2)


@pytest.fixture
def held_thread(people, clock):
    """A held 2-star review and a business message in its thread."""
    review = reviews.submit_review(people.reviewer, people.shop, stars=2, title="Cold", body="Cold soup.",
                                   now=clock.now())
    message = thread.reply(review, people.owner, "Sorry, we will look into it.", now=clock.now())
    return review, message
