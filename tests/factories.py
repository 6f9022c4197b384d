"""factory_boy factories over the real models; objects are flushed, never committed."""

from __future__ import annotations

from datetime import timedelta

import factory
from factory.alchemy import SQLAlchemyModelFactory
from werkzeug.security import generate_password_hash

from reviewsite.extensions import db
from reviewsite.models import Business, MemberRole, Membership, Review, ReviewStatus, User
from tests.helpers import PASSWORD, START

# Hashing is deliberately slow; one hash serves every factory-made user.
_PASSWORD_HASH = generate_password_hash(PASSWORD)


class Base(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"


class UserFactory(Base):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    display_name = factory.Sequence(lambda n: f"Person {n}")
    password_hash = _PASSWORD_HASH
    email_confirmed_at = START
    created_at = START

    class Params:
        unconfirmed = factory.Trait(email_confirmed_at=None)
        moderator = factory.Trait(is_moderator=True)


class BusinessFactory(Base):
    class Meta:
        model = Business

    name = factory.Sequence(lambda n: f"Business {n}")
    slug = factory.Sequence(lambda n: f"business-{n}")
    category = "Cafe"
    city = "Leeds"
    address = "1 High Street"
    description = "A place."
    created_at = START


class MembershipFactory(Base):
    """A verified member (a membership row is one): an owner also marks the listing claimed,
    as a verified claim would."""

    class Meta:
        model = Membership

    business = factory.SubFactory(BusinessFactory)
    user = factory.SubFactory(UserFactory)
    role = MemberRole.OWNER
    created_at = START

    @factory.post_generation
    def claim_listing(obj, create, extracted, **kwargs):  # noqa: N805 - factory_boy's hook
        if obj.role == MemberRole.OWNER and obj.business.claimed_at is None:
            obj.business.claimed_at = obj.created_at
            db.session.flush()


class ReviewFactory(Base):
    """A review row as the services would have left it. Use the services to move it on."""

    class Meta:
        model = Review

    business = factory.SubFactory(BusinessFactory)
    author = factory.SubFactory(UserFactory)
    stars = 2
    title = "Cold soup"
    body = "Waited forty minutes."
    created_at = START
    status = ReviewStatus.HELD
    held_at = START
    publish_at = START + timedelta(hours=72)

    class Params:
        published = factory.Trait(
            status=ReviewStatus.PUBLISHED, stars=5, held_at=None, publish_at=None, published_at=START
        )
