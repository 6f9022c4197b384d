"""Mail about who the business is, through a real SMTP server: a claim's link goes to the address
the claimant typed (not their account's), an invitation to an address with no account; each
mail's Message-ID comes from its outbox row, and a repeated fact is still one mail."""

from __future__ import annotations

import re

from sqlalchemy import select

from reviewsite.extensions import db
from reviewsite.models import ClaimMethod, Notification
from reviewsite.notifications import delivery
from reviewsite.notifications.rendering import message_id_for
from reviewsite.services import claims, team, tokens
from reviewsite.services.outbox import notify
from reviewsite.unit_of_work import unit_of_work
from tests.factories import BusinessFactory, MembershipFactory, UserFactory
from tests.helpers import START


def test_a_claim_link_goes_to_the_typed_address_with_a_working_token(ctx, smtp):
    with unit_of_work():
        shop = BusinessFactory(name="Corner Cafe", website="https://cornercafe.example",
                               website_domain="cornercafe.example")
        olive = UserFactory(email="olive.private@example.com", display_name="Olive")
        claim = claims.start(shop, olive, method=ClaimMethod.WEBSITE_EMAIL, email="olive@cornercafe.example",
                             now=START)
        claim_id = claim.id
    delivery.deliver_pending()
    [mail] = smtp.mails
    assert mail.to == "olive@cornercafe.example" and mail.subject == "Confirm that you run Corner Cafe"
    assert "olive.private@example.com" not in mail.raw, "nor the account's address"
    assert "List-Unsubscribe" not in mail.raw
    link = re.search(r"http://reviewsite\.test/claims/verify/(\S+)", mail.text).group(1)
    assert tokens.read_claim_token(link) == (claim_id, "olive@cornercafe.example")
    row = db.session.scalar(select(Notification).where(Notification.kind == "claim_link"))
    assert mail.message_id == message_id_for(row)


def test_an_invitation_reaches_an_address_with_no_account_once(ctx, smtp):
    with unit_of_work():
        shop = BusinessFactory(name="Corner Cafe")
        owner = MembershipFactory(business=shop, user=UserFactory(display_name="Olive")).user
        invitation = team.invite(shop, owner, email="sam@example.com", role="staff", now=START)
        # The same fact again (a retried request): the dedupe key makes it nothing.
        assert notify("team_invitation", [], now=START, fact=invitation.id, to_address="sam@example.com",
                      extra_facts=dict(db.session.scalar(select(Notification.facts)))) == []
    delivery.deliver_pending()
    delivery.deliver_pending()
    [mail] = smtp.mails
    assert mail.to == "sam@example.com" and mail.subject == "Olive invites you to join Corner Cafe"
    assert "/invitations/" in mail.text and "as staff" in mail.text
    assert "someone asked" in mail.raw, "the footer does not claim they have an account"
