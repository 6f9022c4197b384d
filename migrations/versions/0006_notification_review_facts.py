"""a notice keeps its review's stars and release time in columns of their own

They were keys of the ``facts`` JSON. As columns, the statement that writes notifications can copy
them from the review rows it reads (``INSERT ... SELECT``), on PostgreSQL and SQLite alike, with no
JSON to build in SQL. Existing rows are moved over; the downgrade moves them back.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 10:00:00

"""
import json
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

notification = sa.table(
    "notification",
    sa.column("id", sa.Integer),
    sa.column("facts", sa.JSON),
    sa.column("review_stars", sa.Integer),
    sa.column("review_publish_at", sa.DateTime(timezone=True)),
)
BATCH = 5000


def _rows(connection, *condition):
    """Every notification matching ``condition``, a batch at a time (a table may be large)."""
    last = 0
    while True:
        rows = connection.execute(
            sa.select(notification.c.id, notification.c.facts, notification.c.review_stars,
                      notification.c.review_publish_at)
            .where(notification.c.id > last, *condition).order_by(notification.c.id).limit(BATCH)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id


def _facts(raw):
    return dict(raw if isinstance(raw, dict) else json.loads(raw or "{}"))


def upgrade():
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_stars', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('review_publish_at', sa.DateTime(timezone=True), nullable=True))
    connection = op.get_bind()
    for row in list(_rows(connection, notification.c.facts.is_not(None))):
        facts = _facts(row.facts)
        if "stars" not in facts and "publish_at" not in facts:
            continue
        stars, publish_at = facts.pop("stars", None), facts.pop("publish_at", None)
        connection.execute(
            notification.update().where(notification.c.id == row.id).values(
                facts=facts, review_stars=stars,
                review_publish_at=datetime.fromisoformat(publish_at) if publish_at else None))


def downgrade():
    connection = op.get_bind()
    for row in list(_rows(connection, sa.or_(notification.c.review_stars.is_not(None),
                                             notification.c.review_publish_at.is_not(None)))):
        facts = _facts(row.facts)
        facts["stars"] = row.review_stars
        publish_at = row.review_publish_at
        if isinstance(publish_at, str):  # SQLite hands back the stored text
            publish_at = datetime.fromisoformat(publish_at)
        if publish_at is not None and publish_at.tzinfo is None:
            publish_at = publish_at.replace(tzinfo=UTC)
        facts["publish_at"] = publish_at.isoformat() if publish_at else None
        connection.execute(notification.update().where(notification.c.id == row.id).values(facts=facts))
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_column('review_publish_at')
        batch_op.drop_column('review_stars')
