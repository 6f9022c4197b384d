"""who the business is: claims, invitations, the business audit trail, listing history and details

Today's memberships become verified members: each owner gets a verified claim of method
"migrated" and the listing is marked claimed at the owner's membership date; each membership
gets an audit entry. Notifications may go to an address that is not an account's
(``to_address``), and an invitation to an address with no account has no recipient.

The downgrade drops what was added; notifications with no recipient account cannot exist
before this revision and are deleted.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 08:35:52.836658

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('business_claim',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('business_id', sa.Integer(), nullable=False),
    sa.Column('claimant_id', sa.Integer(), nullable=False),
    sa.Column('method', sa.Enum('website_email', 'contact_email', 'moderator', 'migrated', name='claimmethod', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('status', sa.Enum('pending', 'verified', 'rejected', 'expired', 'withdrawn', name='claimstatus', native_enum=False, create_constraint=True, length=12), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('statement', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('links_sent', sa.Integer(), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.CheckConstraint("method NOT IN ('website_email', 'contact_email') OR (email IS NOT NULL AND expires_at IS NOT NULL)", name=op.f('ck_business_claim_link_has_address')),
    sa.CheckConstraint("status <> 'rejected' OR reason IS NOT NULL", name=op.f('ck_business_claim_rejected_has_reason')),
    sa.CheckConstraint("status NOT IN ('verified', 'rejected') OR decided_at IS NOT NULL", name=op.f('ck_business_claim_decided_has_decided_at')),
    sa.ForeignKeyConstraint(['business_id'], ['business.id'], name=op.f('fk_business_claim_business_id_business')),
    sa.ForeignKeyConstraint(['claimant_id'], ['user.id'], name=op.f('fk_business_claim_claimant_id_user')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user.id'], name=op.f('fk_business_claim_decided_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_business_claim'))
    )
    with op.batch_alter_table('business_claim', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_business_claim_business_id'), ['business_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_business_claim_claimant_id'), ['claimant_id'], unique=False)
        batch_op.create_index('ix_business_claim_queue', ['created_at'], unique=False, postgresql_where=sa.text("status = 'pending' AND method = 'moderator'"), sqlite_where=sa.text("status = 'pending' AND method = 'moderator'"))
        batch_op.create_index('uq_business_claim_pending', ['business_id', 'claimant_id'], unique=True, postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"))

    op.create_table('business_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('business_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('subject_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=30), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user.id'], name=op.f('fk_business_event_actor_id_user')),
    sa.ForeignKeyConstraint(['business_id'], ['business.id'], name=op.f('fk_business_event_business_id_business')),
    sa.ForeignKeyConstraint(['subject_id'], ['user.id'], name=op.f('fk_business_event_subject_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_business_event'))
    )
    with op.batch_alter_table('business_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_business_event_business_id'), ['business_id'], unique=False)

    op.create_table('invitation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('business_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('role', sa.Enum('owner', 'staff', name='memberrole', native_enum=False, create_constraint=True, length=12), nullable=False),
    sa.Column('status', sa.Enum('pending', 'accepted', 'revoked', 'expired', name='invitationstatus', native_enum=False, create_constraint=True, length=12), nullable=False),
    sa.Column('invited_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('accepted_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status <> 'accepted' OR (accepted_by_id IS NOT NULL AND decided_at IS NOT NULL)", name=op.f('ck_invitation_accepted_has_member')),
    sa.ForeignKeyConstraint(['accepted_by_id'], ['user.id'], name=op.f('fk_invitation_accepted_by_id_user')),
    sa.ForeignKeyConstraint(['business_id'], ['business.id'], name=op.f('fk_invitation_business_id_business')),
    sa.ForeignKeyConstraint(['invited_by_id'], ['user.id'], name=op.f('fk_invitation_invited_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitation'))
    )
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invitation_business_id'), ['business_id'], unique=False)
        batch_op.create_index('uq_invitation_pending', ['business_id', 'email'], unique=True, postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"))

    op.create_table('listing_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('business_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('field', sa.String(length=20), nullable=False),
    sa.Column('old_value', sa.Text(), nullable=False),
    sa.Column('new_value', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user.id'], name=op.f('fk_listing_change_actor_id_user')),
    sa.ForeignKeyConstraint(['business_id'], ['business.id'], name=op.f('fk_listing_change_business_id_business')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_listing_change'))
    )
    with op.batch_alter_table('listing_change', schema=None) as batch_op:
        batch_op.create_index('ix_listing_change_business_at', ['business_id', 'at'], unique=False)

    with op.batch_alter_table('business', schema=None) as batch_op:
        batch_op.add_column(sa.Column('website', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('website_domain', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('contact_email', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('hours', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_business_website_domain'), ['website_domain'], unique=False)

    # SQLite recreates the table for the nullability change; the partial index is dropped and
    # made again around it so that it keeps its WHERE on every backend.
    op.drop_index('ix_notification_pending', table_name='notification')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('to_address', sa.String(length=254), nullable=True))
        batch_op.alter_column('recipient_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.create_check_constraint(op.f('ck_notification_has_recipient'),
                                         'recipient_id IS NOT NULL OR to_address IS NOT NULL')
    _create_pending_index()

    _migrate_memberships()


def _create_pending_index():
    op.create_index('ix_notification_pending', 'notification', ['next_attempt_at'], unique=False,
                    postgresql_where=sa.text("email_status = 'pending'"),
                    sqlite_where=sa.text("email_status = 'pending'"))


def _migrate_memberships():
    """Today's owners become verified owners (a claim verified as "migrated"), every member keeps
    their membership, and each gets an audit entry; a listing with an owner is claimed."""
    connection = op.get_bind()
    memberships = connection.execute(sa.text(
        "SELECT business_id, user_id, role, created_at FROM membership ORDER BY id")).mappings().all()
    claim = sa.table('business_claim', *(sa.column(name) for name in (
        'business_id', 'claimant_id', 'method', 'status', 'statement', 'created_at', 'links_sent', 'decided_at')))
    event = sa.table('business_event', *(sa.column(name) for name in (
        'business_id', 'actor_id', 'subject_id', 'action', 'details', 'at')),
        sa.column('details', sa.JSON()))
    owners = [row for row in memberships if row['role'] == 'owner']
    if owners:
        connection.execute(claim.insert(), [
            {'business_id': row['business_id'], 'claimant_id': row['user_id'], 'method': 'migrated',
             'status': 'verified', 'statement': '', 'created_at': row['created_at'], 'links_sent': 0,
             'decided_at': row['created_at']} for row in owners])
    if memberships:
        connection.execute(event.insert(), [
            {'business_id': row['business_id'], 'actor_id': None, 'subject_id': row['user_id'],
             'action': 'member_migrated', 'details': {'role': row['role']}, 'at': row['created_at']}
            for row in memberships])
    connection.execute(sa.text(
        "UPDATE business SET claimed_at = (SELECT min(created_at) FROM membership "
        "WHERE membership.business_id = business.id AND membership.role = 'owner') "
        "WHERE EXISTS (SELECT 1 FROM membership WHERE membership.business_id = business.id "
        "AND membership.role = 'owner')"))


def downgrade():
    op.execute("DELETE FROM notification WHERE recipient_id IS NULL")
    op.drop_index('ix_notification_pending', table_name='notification')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_notification_has_recipient'), type_='check')
        batch_op.alter_column('recipient_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('to_address')
    _create_pending_index()

    # recreate="never": SQLite (>= 3.35) drops the columns in place; a recreate of the table
    # would lose its expression indexes (see 0004).
    with op.batch_alter_table('business', schema=None, recreate='never') as batch_op:
        batch_op.drop_index(batch_op.f('ix_business_website_domain'))
        batch_op.drop_column('claimed_at')
        batch_op.drop_column('hours')
        batch_op.drop_column('contact_email')
        batch_op.drop_column('website_domain')
        batch_op.drop_column('website')

    with op.batch_alter_table('listing_change', schema=None) as batch_op:
        batch_op.drop_index('ix_listing_change_business_at')

    op.drop_table('listing_change')
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_index('uq_invitation_pending', postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"))
        batch_op.drop_index(batch_op.f('ix_invitation_business_id'))

    op.drop_table('invitation')
    with op.batch_alter_table('business_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_business_event_business_id'))

    op.drop_table('business_event')
    with op.batch_alter_table('business_claim', schema=None) as batch_op:
        batch_op.drop_index('uq_business_claim_pending', postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"))
        batch_op.drop_index('ix_business_claim_queue', postgresql_where=sa.text("status = 'pending' AND method = 'moderator'"), sqlite_where=sa.text("status = 'pending' AND method = 'moderator'"))
        batch_op.drop_index(batch_op.f('ix_business_claim_claimant_id'))
        batch_op.drop_index(batch_op.f('ix_business_claim_business_id'))

    op.drop_table('business_claim')
