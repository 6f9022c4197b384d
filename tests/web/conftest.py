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
        }
        return {
            "*": common,
            "auth.confirm": {"token": tokens.confirmation_token(reviewer)},
            "auth.reset_password": {"token": tokens.reset_token(reviewer)},
            "account.unsubscribe": {"token": tokens.unsubscribe_token(reviewer.id, "thread_message")},
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
