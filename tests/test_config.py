"""Configuration: safe defaults, and production refuses to run without its secrets and mail."""

from __future__ import annotations

import pytest

from reviewsite import create_app


def test_production_requires_a_secret_key(monkeypatch, tmp_path):
    monkeypatch.setenv("REVIEWSITE_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("MAIL_SERVER", "smtp.example.com")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite'}")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app()


def test_production_never_has_the_development_mailbox(monkeypatch, tmp_path):
    monkeypatch.setenv("REVIEWSITE_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "s3cret")
    monkeypatch.delenv("MAIL_SERVER", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite'}")
    with pytest.raises(RuntimeError, match="MAIL_SERVER"):
        create_app()


def test_the_mailbox_page_exists_only_without_smtp(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite'}")
    monkeypatch.setenv("MAIL_SERVER", "127.0.0.1")
    assert "dev.mailbox" not in create_app().view_functions
    monkeypatch.delenv("MAIL_SERVER")
    assert "dev.mailbox" in create_app().view_functions


def test_heroku_style_postgres_urls_get_the_psycopg_driver(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db.example/site")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db.example/site"


def test_a_bad_number_in_the_environment_stops_start_up(monkeypatch):
    monkeypatch.setenv("WINDOW_SECONDS", "three days")
    with pytest.raises(RuntimeError, match="WINDOW_SECONDS"):
        create_app()
