"""honest in public: the reviewer's choice, resolution, offers done, a person's time zone, the record's index

- ``review.hold_choice``: what the reviewer chose at submission in reviewer-choice mode
  (``publish_now`` / ``window``; NULL when the site decided by the stars);
- ``review.resolved_at`` and ``review.resolution_note``: the reviewer marked the complaint
  resolved, with an optional public note (a note needs the mark: CHECK);
- ``thread_message.delivered_at``: the reviewer confirmed an accepted offer was delivered
  (only an accepted offer can be done: CHECK);
- ``user.time_zone``: the IANA zone a person chose for the dates the site shows them;
- the make-it-right record's index ``ix_review_business_window`` (every review that went through
  a window, by business and ``held_at``) replaces ``ix_review_business_record``, which served the
  one-line record this revision's code no longer has.

The downgrade drops what was added and puts the old index back; the choices, resolutions,
deliveries and time zones are lost with their columns.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

_WINDOW = "held_at IS NOT NULL"
_RECORD = "status = 'published' AND held_at IS NOT NULL"


def upgrade():
    op.drop_index('ix_review_business_record', table_name='review', postgresql_where=sa.text(_RECORD),
                  sqlite_where=sa.text(_RECORD))
    with op.batch_alter_table('review', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('hold_choice', sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('resolution_note', sa.Text(), nullable=True))
    with op.batch_alter_table('thread_message', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('user', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('time_zone', sa.String(length=64), nullable=True))
    if op.get_bind().dialect.name == 'postgresql':
        # SQLite cannot add a constraint to a table in place, and a copy of the review table would
        # lose its partial indexes' WHERE (see 0004 and 0008): there the models' CHECKs guard new
        # databases only, and the services keep the rule on both (services/resolution.py).
        op.create_check_constraint(op.f('ck_review_holdchoice'), 'review',
                                   "hold_choice IN ('publish_now', 'window')")
        op.create_check_constraint(op.f('ck_review_note_only_when_resolved'), 'review',
                                   'resolution_note IS NULL OR resolved_at IS NOT NULL')
        op.create_check_constraint(op.f('ck_thread_message_done_only_when_accepted'), 'thread_message',
                                   'delivered_at IS NULL OR accepted_at IS NOT NULL')
    op.create_index('ix_review_business_window', 'review', ['business_id', 'held_at'], unique=False,
                    postgresql_where=sa.text(_WINDOW), sqlite_where=sa.text(_WINDOW))


def downgrade():
    op.drop_index('ix_review_business_window', table_name='review', postgresql_where=sa.text(_WINDOW),
                  sqlite_where=sa.text(_WINDOW))
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_constraint(op.f('ck_thread_message_done_only_when_accepted'), 'thread_message', type_='check')
        op.drop_constraint(op.f('ck_review_note_only_when_resolved'), 'review', type_='check')
        op.drop_constraint(op.f('ck_review_holdchoice'), 'review', type_='check')
    with op.batch_alter_table('user', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('time_zone')
    with op.batch_alter_table('thread_message', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('delivered_at')
    with op.batch_alter_table('review', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('resolution_note')
        batch_op.drop_column('resolved_at')
        batch_op.drop_column('hold_choice')
    op.create_index('ix_review_business_record', 'review', ['business_id', 'first_business_reply_at'],
                    unique=False, postgresql_where=sa.text(_RECORD), sqlite_where=sa.text(_RECORD))
