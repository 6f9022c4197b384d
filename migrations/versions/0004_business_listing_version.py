"""business.listing_version: the version a cached business page is keyed on

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 22:05:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('business', schema=None) as batch_op:
        batch_op.add_column(sa.Column('listing_version', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    # recreate="never": SQLite (>= 3.35) drops the column in place. A batch recreate of the table
    # would lose the expression index ix_business_name_lower, which 0001's downgrade then drops.
    with op.batch_alter_table('business', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('listing_version')
