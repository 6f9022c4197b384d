"""The models and the migrations describe the same schema, on both backends."""

from __future__ import annotations

import warnings

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from reviewsite import create_app
from reviewsite.extensions import db
from tests.conftest import BACKENDS, POSTGRES_URL
from tests.helpers import app_config


def test_models_match_migrations(ctx):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLite cannot reflect the expression index
        context = MigrationContext.configure(db.session.connection(), opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def _scratch_database(backend: str, tmp_path) -> str:
    """A database of its own: the round trip drops every table, which the session's must keep."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'migrations.sqlite'}"
    url = sa.make_url(POSTGRES_URL)
    scratch = url.set(database=f"{url.database}_migrations")
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{scratch.database}"'))
        connection.execute(sa.text(f'CREATE DATABASE "{scratch.database}"'))
    admin.dispose()
    return scratch.render_as_string(hide_password=False)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_migration_downgrades_to_base_and_upgrades_again(backend, tmp_path, session_clock):
    """An operator can roll a release back: each downgrade undoes its upgrade on both backends."""
    application = create_app(app_config(_scratch_database(backend, tmp_path), session_clock))
    with application.app_context():
        upgrade()
        downgrade(revision="base")
        assert sa.inspect(db.engine).get_table_names() == ["alembic_version"]
        upgrade()
        assert {"review", "business", "notification"} <= set(sa.inspect(db.engine).get_table_names())
        db.engine.dispose()
