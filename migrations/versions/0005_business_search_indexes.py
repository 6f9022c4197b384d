"""indexes for business search: trigram on lower(name) (PostgreSQL), lower(city), lower(category)

The search matches ``lower(name) LIKE '%q%'``, which no B-tree can serve: on PostgreSQL a
``pg_trgm`` GIN index can. SQLite gets no trigram index (it has no such thing; its embedded
databases are small). The city and category filters compare ``lower(...)``, so their index is on
the same expressions (the old one on the plain columns served no query).

pg_trgm: ``CREATE EXTENSION`` needs, once per database, a superuser on PostgreSQL before 13, or
from 13 on (where pg_trgm is a trusted extension) a role with CREATE on the database. If the
application's role has neither in production, an administrator runs
``CREATE EXTENSION IF NOT EXISTS pg_trgm;`` in the database once before this migration; the
statement below is then a no-op. The downgrade drops the index but leaves the extension: other
objects may use it, and it may have been installed by someone else.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    postgresql = op.get_bind().dialect.name == 'postgresql'
    with op.batch_alter_table('business', schema=None) as batch_op:
        batch_op.drop_index('ix_business_city_category')
        batch_op.create_index('ix_business_city_category_lower', [sa.text('lower(city)'), sa.text('lower(category)')], unique=False)
    if postgresql:
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        # fastupdate off: every review event updates its business row (rating, listing_version),
        # and an update that is not HOT adds index entries; with the default pending list each
        # search would scan up to 4 MB of them until the next vacuum (measured: 0.3 ms -> 8 ms).
        op.create_index('ix_business_name_trgm', 'business', [sa.text('lower(name) gin_trgm_ops')],
                        unique=False, postgresql_using='gin', postgresql_with={'fastupdate': 'off'})
        # Statistics on the new expressions now, not at the next autovacuum: without them the
        # planner guesses and may keep scanning the table.
        op.execute('ANALYZE business')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_business_name_trgm', table_name='business', postgresql_using='gin')
    with op.batch_alter_table('business', schema=None) as batch_op:
        batch_op.drop_index('ix_business_city_category_lower')
        batch_op.create_index('ix_business_city_category', ['city', 'category'], unique=False)
