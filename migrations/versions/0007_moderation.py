"""trust and safety: reports, decisions (statements of reasons), appeals, pressure notices, action log

Five new tables; nothing existing changes. The downgrade drops them (their indexes go with them).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 08:37:24.569826

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('decision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('review', 'response', 'listing', 'message', name='itemkind', native_enum=False, create_constraint=True, length=10), nullable=False),
    sa.Column('target_key', sa.String(length=40), nullable=False),
    sa.Column('business_id', sa.Integer(), nullable=False),
    sa.Column('review_id', sa.Integer(), nullable=True),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('author_side', sa.Enum('reviewer', 'business', 'system', name='side', native_enum=False, create_constraint=True, length=12), nullable=False),
    sa.Column('outcome', sa.Enum('dismissed', 'removed', 'notice', name='outcome', native_enum=False, create_constraint=True, length=12), nullable=False),
    sa.Column('rule', sa.Enum('personal_info', 'harassment', 'threats', 'spam', 'not_genuine', 'off_topic', 'illegal', 'conditioned_offer', 'demand', 'pressure', name='rule', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('facts', sa.Text(), nullable=False),
    sa.Column('moderator_id', sa.Integer(), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('appeal_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.Enum('in_force', 'reversed', name='decisionstatus', native_enum=False, create_constraint=True, length=12), nullable=False),
    sa.Column('reversed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('appeal_of_id', sa.Integer(), nullable=True),
    sa.Column('snapshot', sa.Text(), nullable=True),
    sa.CheckConstraint("status <> 'reversed' OR reversed_at IS NOT NULL", name=op.f('ck_decision_reversed_has_date')),
    sa.CheckConstraint('appeal_of_id IS NULL OR appeal_until IS NULL', name=op.f('ck_decision_appeal_decision_is_final')),
    sa.ForeignKeyConstraint(['appeal_of_id'], ['decision.id'], name=op.f('fk_decision_appeal_of_id_decision')),
    sa.ForeignKeyConstraint(['author_id'], ['user.id'], name=op.f('fk_decision_author_id_user')),
    sa.ForeignKeyConstraint(['business_id'], ['business.id'], name=op.f('fk_decision_business_id_business')),
    sa.ForeignKeyConstraint(['message_id'], ['thread_message.id'], name=op.f('fk_decision_message_id_thread_message')),
    sa.ForeignKeyConstraint(['moderator_id'], ['user.id'], name=op.f('fk_decision_moderator_id_user')),
    sa.ForeignKeyConstraint(['review_id'], ['review.id'], name=op.f('fk_decision_review_id_review')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_decision'))
    )
    with op.batch_alter_table('decision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_decision_author_id'), ['author_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_decision_business_id'), ['business_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_decision_review_id'), ['review_id'], unique=False)
        batch_op.create_index('ix_decision_decided', ['decided_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_decision_target_key'), ['target_key'], unique=False)

    op.create_table('appeal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('decision_id', sa.Integer(), nullable=False),
    sa.Column('appellant_id', sa.Integer(), nullable=False),
    sa.Column('statement', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('open', 'upheld', 'overturned', name='appealstatus', native_enum=False, create_constraint=True, length=12), nullable=False),
    sa.Column('moderator_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('facts', sa.Text(), nullable=True),
    sa.CheckConstraint("status = 'open' OR (moderator_id IS NOT NULL AND decided_at IS NOT NULL AND facts IS NOT NULL)", name=op.f('ck_appeal_decided_has_reasons')),
    sa.ForeignKeyConstraint(['appellant_id'], ['user.id'], name=op.f('fk_appeal_appellant_id_user')),
    sa.ForeignKeyConstraint(['decision_id'], ['decision.id'], name=op.f('fk_appeal_decision_id_decision')),
    sa.ForeignKeyConstraint(['moderator_id'], ['user.id'], name=op.f('fk_appeal_moderator_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appeal')),
    sa.UniqueConstraint('decision_id', name=op.f('uq_appeal_decision_id'))
    )
    with op.batch_alter_table('appeal', schema=None) as batch_op:
        batch_op.create_index('ix_appeal_created', ['created_at'], unique=False)
        batch_op.create_index('ix_appeal_open', ['created_at'], unique=False, postgresql_where=sa.text("status = 'open'"), sqlite_where=sa.text("status = 'open'"))

    op.create_table('pressure_notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('business_id', sa.Integer(), nullable=False),
    sa.Column('decision_id', sa.Integer(), nullable=False),
    sa.Column('rule', sa.Enum('personal_info', 'harassment', 'threats', 'spam', 'not_genuine', 'off_topic', 'illegal', 'conditioned_offer', 'demand', 'pressure', name='rule', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('active', 'expired', 'lifted', name='noticestatus', native_enum=False, create_constraint=True, length=12), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status = 'active' OR ended_at IS NOT NULL", name=op.f('ck_pressure_notice_ended_has_date')),
    sa.CheckConstraint('ends_at > issued_at', name=op.f('ck_pressure_notice_ends_after_issue')),
    sa.ForeignKeyConstraint(['business_id'], ['business.id'], name=op.f('fk_pressure_notice_business_id_business')),
    sa.ForeignKeyConstraint(['decision_id'], ['decision.id'], name=op.f('fk_pressure_notice_decision_id_decision')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pressure_notice')),
    sa.UniqueConstraint('decision_id', name=op.f('uq_pressure_notice_decision_id'))
    )
    with op.batch_alter_table('pressure_notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pressure_notice_business_id'), ['business_id'], unique=False)
        batch_op.create_index('ix_pressure_notice_due', ['ends_at'], unique=False, postgresql_where=sa.text("status = 'active'"), sqlite_where=sa.text("status = 'active'"))
        batch_op.create_index('ix_pressure_notice_issued', ['issued_at'], unique=False)

    op.create_table('report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reporter_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('review', 'response', 'listing', 'message', name='itemkind', native_enum=False, create_constraint=True, length=10), nullable=False),
    sa.Column('target_key', sa.String(length=40), nullable=False),
    sa.Column('business_id', sa.Integer(), nullable=False),
    sa.Column('review_id', sa.Integer(), nullable=True),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('author_side', sa.Enum('reviewer', 'business', 'system', name='side', native_enum=False, create_constraint=True, length=12), nullable=False),
    sa.Column('reason', sa.Enum('personal_info', 'harassment', 'threats', 'spam', 'not_genuine', 'off_topic', 'illegal', 'conditioned_offer', 'demand', 'pressure', name='rule', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('open', 'dismissed', 'upheld', name='reportstatus', native_enum=False, create_constraint=True, length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("(status = 'open' AND decision_id IS NULL AND decided_at IS NULL) OR (status <> 'open' AND decision_id IS NOT NULL AND decided_at IS NOT NULL)", name=op.f('ck_report_decided_has_decision')),
    sa.ForeignKeyConstraint(['author_id'], ['user.id'], name=op.f('fk_report_author_id_user')),
    sa.ForeignKeyConstraint(['business_id'], ['business.id'], name=op.f('fk_report_business_id_business')),
    sa.ForeignKeyConstraint(['decision_id'], ['decision.id'], name=op.f('fk_report_decision_id_decision')),
    sa.ForeignKeyConstraint(['message_id'], ['thread_message.id'], name=op.f('fk_report_message_id_thread_message')),
    sa.ForeignKeyConstraint(['reporter_id'], ['user.id'], name=op.f('fk_report_reporter_id_user')),
    sa.ForeignKeyConstraint(['review_id'], ['review.id'], name=op.f('fk_report_review_id_review')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report'))
    )
    with op.batch_alter_table('report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_business_id'), ['business_id'], unique=False)
        batch_op.create_index('ix_report_created', ['created_at'], unique=False)
        batch_op.create_index('ix_report_open', ['created_at'], unique=False, postgresql_where=sa.text("status = 'open'"), sqlite_where=sa.text("status = 'open'"))
        batch_op.create_index(batch_op.f('ix_report_reporter_id'), ['reporter_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_review_id'), ['review_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_target_key'), ['target_key'], unique=False)
        batch_op.create_index('uq_report_open_flag', ['target_key'], unique=True, postgresql_where=sa.text("status = 'open' AND reporter_id IS NULL"), sqlite_where=sa.text("status = 'open' AND reporter_id IS NULL"))
        batch_op.create_index('uq_report_open_per_reporter', ['reporter_id', 'target_key'], unique=True, postgresql_where=sa.text("status = 'open' AND reporter_id IS NOT NULL"), sqlite_where=sa.text("status = 'open' AND reporter_id IS NOT NULL"))

    op.create_table('moderation_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=30), nullable=False),
    sa.Column('business_id', sa.Integer(), nullable=True),
    sa.Column('target_key', sa.String(length=40), nullable=True),
    sa.Column('report_id', sa.Integer(), nullable=True),
    sa.Column('decision_id', sa.Integer(), nullable=True),
    sa.Column('appeal_id', sa.Integer(), nullable=True),
    sa.Column('notice_id', sa.Integer(), nullable=True),
    sa.Column('rule', sa.String(length=20), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user.id'], name=op.f('fk_moderation_event_actor_id_user')),
    sa.ForeignKeyConstraint(['appeal_id'], ['appeal.id'], name=op.f('fk_moderation_event_appeal_id_appeal')),
    sa.ForeignKeyConstraint(['business_id'], ['business.id'], name=op.f('fk_moderation_event_business_id_business')),
    sa.ForeignKeyConstraint(['decision_id'], ['decision.id'], name=op.f('fk_moderation_event_decision_id_decision')),
    sa.ForeignKeyConstraint(['notice_id'], ['pressure_notice.id'], name=op.f('fk_moderation_event_notice_id_pressure_notice')),
    sa.ForeignKeyConstraint(['report_id'], ['report.id'], name=op.f('fk_moderation_event_report_id_report')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_moderation_event'))
    )
    with op.batch_alter_table('moderation_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_moderation_event_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index('ix_moderation_event_at', ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_moderation_event_business_id'), ['business_id'], unique=False)


def downgrade():
    for table in ('moderation_event', 'report', 'pressure_notice', 'appeal', 'decision'):
        op.drop_table(table)
