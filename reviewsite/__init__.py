"""reviewsite: reviews with a make-it-right window.

``create_app`` is a short list of ``register_*`` steps; nothing here runs at import time.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from reviewsite import config


def create_app(test_config: dict[str, Any] | None = None, *, migrations: bool = True) -> Flask:
    """The application. ``migrations=False`` for processes that never run migrations (the web
    and Celery workers), which then never import Alembic (BENCHMARKS.md: worker memory)."""
    app = Flask(
        __name__,
        template_folder=str(config.PROJECT_ROOT / "templates"),
        instance_path=str(config.instance_dir()),
    )
    app.config.from_mapping(config.from_environment())
    if test_config:
        app.config.from_mapping(test_config)
    app.config.from_mapping({k: v for k, v in config.posture(app.config).items() if k not in (test_config or {})})
    config.refuse_unsafe(app.config)
    register_routing(app)
    register_extensions(app)
    if migrations:
        register_migrations(app)
    register_blueprints(app)
    register_template_helpers(app)
    register_error_handlers(app)
    register_commands(app)
    return app


def register_routing(app: Flask) -> None:
    from reviewsite.routing import init_app

    init_app(app)


def register_extensions(app: Flask) -> None:
    from reviewsite import models  # noqa: F401 - registers the tables with the metadata
    from reviewsite import security
    from reviewsite.clock import now_utc
    from reviewsite.database import configure_engine
    from reviewsite.extensions import cache, celery_init_app, csrf, db, limiter, login_manager
    from reviewsite.notifications import dispatch
    from reviewsite.services import logins
    from reviewsite.session_cookies import SignedCookieSessions

    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine, app.config)
    app.session_interface = SignedCookieSessions()
    csrf.init_app(app)
    security.init_app(app)
    limiter.init_app(app)
    cache.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Log in to continue."
    login_manager.login_message_category = "info"

    # What the session and remember-me cookies hold is a login's token (models/login.py): the
    # request is signed in only while that login is open.
    @login_manager.user_loader
    def load_user(token: str) -> models.User | None:
        return logins.user_for(token, now=now_utc())

    celery_init_app(app)
    dispatch.init_app(app)


def register_migrations(app: Flask) -> None:
    """``flask db ...`` (Flask-Migrate), and what tests and the release step upgrade with."""
    from flask_migrate import Migrate

    from reviewsite.database import render_migration_item
    from reviewsite.extensions import db

    Migrate(
        app,
        db,
        directory=str(config.PROJECT_ROOT / "migrations"),
        render_as_batch=True,
        compare_type=True,
        render_item=render_migration_item,
    )


def register_blueprints(app: Flask) -> None:
    from reviewsite.account.views import bp as account_bp
    from reviewsite.auth.views import bp as auth_bp
    from reviewsite.business.views import bp as business_bp
    from reviewsite.claims.views import bp as claims_bp
    from reviewsite.dev.views import bp as dev_bp
    from reviewsite.figures.views import bp as figures_bp
    from reviewsite.moderation.views import bp as moderation_bp
    from reviewsite.notifications.transport import uses_dev_mailbox
    from reviewsite.public.views import bp as public_bp
    from reviewsite.reviews.views import bp as reviews_bp
    from reviewsite.team.views import bp as team_bp

    for blueprint in (public_bp, auth_bp, account_bp, business_bp, reviews_bp, moderation_bp, claims_bp, team_bp,
                      figures_bp):
        app.register_blueprint(blueprint)
    with app.app_context():
        # The mailbox shows tokens: it exists only while no SMTP server is configured, only when
        # development was asked for, and answers only on loopback (reviewsite/dev/views.py).
        if uses_dev_mailbox() and app.config["REVIEWSITE_ENV"] == config.DEVELOPMENT:
            app.register_blueprint(dev_bp)


def register_template_helpers(app: Flask) -> None:
    from reviewsite.templating import init_app

    init_app(app)


def register_error_handlers(app: Flask) -> None:
    from reviewsite.errors import init_app

    init_app(app)


def register_commands(app: Flask) -> None:
    from reviewsite.cli import init_app

    init_app(app)
