"""A small world for HTTP tests, built through factories and services, then committed (into
the test's outer transaction). Tests get plain ids and addresses, not live ORM objects, because
they must not hold an app context while making requests."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy import select

from reviewsite.extensions import db
from reviewsite.models import DevMail, Notification, ThreadMessage, User
from reviewsite.notifications import delivery
from reviewsite.services import reviews, thread, tokens
from reviewsite.unit_of_work import unit_of_work
from tests.factories import BusinessFactory, MembershipFactory, UserFactory

CANARY_TITLE = "CANARYTITLE-7f3a"
CANARY_BODY = "CANARYBODY-91c2 the soup was cold"
CANARY_MESSAGE = "CANARYTHREAD-55d0"
CANARY_RESPONSE = "CANARYRESPONSE-0b8e"
CANARIES = (CANARY_TITLE, CANARY_BODY.split()[0], CANARY_MESSAGE, CANARY_RESPONSE)


@pytest.fixture
def world(app, db_connection, clock):
    with app.app_context(), unit_of_work():
        shop = BusinessFactory(name="Corner Cafe", slug="corner-cafe")
        rival = BusinessFactory(name="Rival Diner", slug="rival-diner")
        owner = UserFactory(email="owner@example.com", display_name="Olive")
        rival_owner = UserFactory(email="rival@example.com", display_name="Rex")
        reviewer = UserFactory(email="reviewer.private@example.com", display_name="Casey")
        stranger = UserFactory(email="stranger@example.com", display_name="Sam")
        moderator = UserFactory(email="mod@example.com", display_name="Mo", moderator=True)
        MembershipFactory(business=shop, user=owner)
        MembershipFactory(business=rival, user=rival_owner)
        held = reviews.submit_review(reviewer, shop, stars=2, title=CANARY_TITLE, body=CANARY_BODY, now=clock.now())
        thread.reply(held, owner, CANARY_MESSAGE, now=clock.now())
        reviews.save_response(held, owner, CANARY_RESPONSE, now=clock.now())
        return SimpleNamespace(
            shop_slug=shop.slug, shop_id=shop.id, rival_slug=rival.slug,
            owner=owner.email, rival_owner=rival_owner.email, reviewer=reviewer.email,
            stranger=stranger.email, moderator=moderator.email, held_id=held.id,
            publish_at=held.publish_at,
        )


def page_html(client, url: str) -> str:
    """A page that must answer 200, as text."""
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def act(app, fn) -> None:
    """One service call as its own committed unit of work, outside any request."""
    with app.app_context(), unit_of_work():
        fn()


@pytest.fixture
def statements(db_connection):
    """SQL statements the app runs during the test (the sessions all use this connection),
    without the test harness's SAVEPOINTs around each request, whitespace collapsed."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "SAVEPOINT" not in statement:
            seen.append(" ".join(statement.split()))

    sa.event.listen(db_connection, "before_cursor_execute", record)
    yield seen
    sa.event.remove(db_connection, "before_cursor_execute", record)


@pytest.fixture
def identities(app, db_connection, clock):
    """Every kind of identity around one claimed business with a held review, reached through
    the services as real people would (claims, invitations, a removal), for the access matrix
    and the identity canaries:

    owner and staff (verified), a removed member (staff, removed after writing in the thread),
    a pending claimant (a link claim), a rejected claimant (a moderator rejected them), the
    reviewer, a customer, the owner of another business (a likely duplicate of this one, listed
    by someone else and claimed), a moderator, and the anonymous visitor."""
    from reviewsite.models import ClaimMethod, MemberRole, RemedyKind
    from reviewsite.services import businesses, claims, team, tokens

    now = clock.now()
    with app.app_context(), unit_of_work():
        owner = UserFactory(email="owner@example.com", display_name="Olive")
        staff = UserFactory(email="staff@example.com", display_name="Stan")
        removed = UserFactory(email="removed@example.com", display_name="Remy")
        pending = UserFactory(email="pending@example.com", display_name="Penny")
        rejected = UserFactory(email="rejected@example.com", display_name="Rob")
        reviewer = UserFactory(email="reviewer.private@example.com", display_name="Casey")
        customer = UserFactory(email="customer@example.com", display_name="Sam")
        rival = UserFactory(email="rival@example.com", display_name="Rex")
        moderator = UserFactory(email="mod@example.com", display_name="Mo", moderator=True)
        shop = businesses.create_business(customer, name="Corner Cafe", category="Cafe", city="Leeds",
                                          address="1 Market St", description="", website="https://cornercafe.example",
                                          contact_email="hello@cornercafe.example", now=now)
        # The same cafe listed again by its would-be owner: a likely duplicate, and its own claim.
        copy = businesses.create_business(rival, name="Corner Cafe Leeds", category="Cafe", city="Leeds",
                                          address="1 Market Street", description="", website="https://corner-copy.example",
                                          despite_duplicates=True, now=now)
        # Made while the listing was unclaimed (later claims go to the moderators); not followed.
        pending_claim = claims.start(shop, pending, method=ClaimMethod.WEBSITE_EMAIL, email="penny@cornercafe.example",
                                     now=now)
        for business, user, address in ((shop, owner, "olive@cornercafe.example"), (copy, rival, "rex@corner-copy.example")):
            claim = claims.start(business, user, method=ClaimMethod.WEBSITE_EMAIL, email=address, now=now)
            claims.verify_by_link(claim, user, email=address, now=now)
        for user in (staff, removed):
            invitation = team.invite(shop, owner, email=user.email, role=MemberRole.STAFF, now=now)
            team.accept(invitation, user, email=user.email, now=now)
        held = reviews.submit_review(reviewer, shop, stars=2, title=CANARY_TITLE, body=CANARY_BODY, now=now)
        thread.reply(held, removed, "Remy here, looking into it.", now=now)
        thread.reply(held, owner, CANARY_MESSAGE, now=now)
        offer = thread.offer_remedy(held, owner, RemedyKind.REFUND, "A full refund of the order.", now=now)
        thread.accept_offer(offer, reviewer, now=now)
        reviews.save_response(held, owner, CANARY_RESPONSE, now=now)
        team.remove_member(team.membership_of(shop, removed), owner, now=now)
        rejected_claim = claims.start(shop, rejected, method=ClaimMethod.MODERATOR,
                                      statement="I am the manager.", now=now)
        claims.reject(rejected_claim, moderator, reason="Nothing shows that you run it.", now=now)
        invitation = team.invite(shop, owner, email="later@example.com", role=MemberRole.STAFF, now=now)
        return SimpleNamespace(
            shop_slug=shop.slug, shop_id=shop.id, copy_slug=copy.slug, held_id=held.id, offer_id=offer.id,
            staff_membership=team.membership_of(shop, staff).id, invitation_id=invitation.id,
            pending_claim=pending_claim.id, rejected_claim=rejected_claim.id,
            pending_token=tokens.claim_token(pending_claim.id, "penny@cornercafe.example"),
            ids={name: user.id for name, user in (("owner", owner), ("staff", staff), ("removed", removed),
                                                   ("pending", pending), ("rejected", rejected),
                                                   ("reviewer", reviewer), ("customer", customer),
                                                   ("rival", rival), ("moderator", moderator))},
            emails={"owner": owner.email, "staff": staff.email, "removed": removed.email, "pending": pending.email,
                    "rejected": rejected.email, "reviewer": reviewer.email, "customer": customer.email,
                    "rival": rival.email, "moderator": moderator.email},
        )


def sample_values(app: Flask, world) -> dict[str, dict[str, object]]:
    """A real value for every argument of every rule, per endpoint where it differs."""
    with app.app_context():
        delivery.deliver_pending()
        reviewer = db.session.scalar(select(User).where(User.email == world.reviewer))
        common = {
            "slug": world.shop_slug,
            "review_id": world.held_id,
            "notification_id": db.session.scalar(select(Notification.id).where(Notification.recipient_id == reviewer.id)),
            "message_id": db.session.scalar(select(ThreadMessage.id)),
            "mail_id": db.session.scalar(select(DevMail.id)),
            "filename": "site.css",
            # The pages of claims, teams and moderation: any id will do for the headers (a 404
            # carries them too); tests/web/test_access_matrix.py walks them with real ones.
            "kind": "review",
            "item_id": world.held_id,
            "claim_id": 1,
            "appeal_id": 1,
            "decision_id": 1,
            "invitation_id": 1,
            "membership_id": 1,
        }
        return {
            "*": common,
            "auth.confirm": {"token": tokens.confirmation_token(reviewer)},
            "auth.reset_password": {"token": tokens.reset_token(reviewer)},
            "account.unsubscribe": {"token": tokens.unsubscribe_token(reviewer.id, "thread_message")},
            "claims.verify": {"token": "not-a-claim-link"},
            "team.invitation": {"token": "not-an-invitation"},
        }


def every_route(app: Flask, values: dict[str, dict[str, object]]) -> Iterator[tuple[str, str, str]]:
    """(endpoint, method, url) for every rule: GET where it answers GET, else POST."""
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            arguments = {**values["*"], **values.get(rule.endpoint, {})}
            missing = rule.arguments - arguments.keys()
            assert not missing, f"no sample value for {missing} of {rule.rule}: add one"
            url = app.url_map.bind("localhost").build(rule.endpoint, {a: arguments[a] for a in rule.arguments})
            yield rule.endpoint, "GET" if "GET" in rule.methods else "POST", url
