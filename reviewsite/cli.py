"""``flask`` commands for operators: demo data, one-off sweeps, moderators, the outbox."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from reviewsite import config
from reviewsite.clock import database_now, now_utc
from reviewsite.models import ClaimMethod, User
from reviewsite.notifications import delivery
from reviewsite.services import (
    accounts, businesses, claims, digests, mail_queue, moderation, pressure_notices, publication, reminders, reviews,
    team,
)
from reviewsite.services.window import window_policy
from reviewsite.unit_of_work import unit_of_work

# The demo accounts' password is printed for the newcomer by design (bin/run, development only).
DEMO_PASSWORD = "demo-password"  # nosec B105


def _demo_user(email: str, name: str) -> User:
    user = accounts.find_by_email(email)
    if user is None:
        user = accounts.register(email=email, password=DEMO_PASSWORD, display_name=name, now=now_utc())
        accounts.confirm_email(user, now=now_utc())
    return user


@click.command("seed-demo")
@with_appcontext
def seed_demo() -> None:
    """Demo accounts, businesses and reviews (safe to run twice)."""
    with unit_of_work():
        owner = _demo_user("owner@example.com", "Olive (owner)")
        customer = _demo_user("customer@example.com", "Casey")
        critic = _demo_user("critic@example.com", "Robin")
        if not businesses.businesses_of(owner):
            now = now_utc()
            cafe = businesses.create_business(
                owner, name="Corner Cafe", category="Cafe", city="Leeds", address="1 Market St",
                description="Coffee, cake and a window seat.", website="https://cornercafe.example", now=now)
            plumbing = businesses.create_business(
                owner, name="Bright Plumbing", category="Trades", city="Leeds", address="22 Canal Rd",
                description="Emergency plumbing, seven days a week.", website="https://brightplumbing.example",
                now=now)
            for business, address in ((cafe, "olive@cornercafe.example"), (plumbing, "olive@brightplumbing.example")):
                # The demo owner is verified as a real one would be: a link to an address at the
                # website's domain, followed (here without the mail).
                claim = claims.start(business, owner, method=ClaimMethod.WEBSITE_EMAIL, email=address, now=now)
                claims.verify_by_link(claim, owner, email=address, now=now)
            reviews.submit_review(critic, cafe, stars=5, title="Best flat white in town",
                                  body="Friendly staff and a quiet corner to work in.", now=now)
            reviews.submit_review(customer, cafe, stars=2, title="Cold food, long wait",
                                  body="Waited 40 minutes and the soup was cold.", now=now)
    window = window_policy().window
    click.echo(f"Demo data ready at {current_app.config['SITE_URL']}")
    click.echo(f"  business owner:  owner@example.com / {DEMO_PASSWORD}")
    click.echo(f"  customer:        customer@example.com / {DEMO_PASSWORD}")
    click.echo(f"  make-it-right window: {window} (set WINDOW_SECONDS to change)")


@click.command("prepare-broker")
@with_appcontext
def prepare_broker() -> None:
    """Create the embedded broker's tables and queues (bin/run does, before the processes start)."""
    celery = current_app.config["CELERY"]
    if celery.get("broker_transport") != config.EMBEDDED_BROKER_TRANSPORT:
        click.echo("The broker is a server (CELERY_BROKER_URL): nothing to prepare.")
        return
    from reviewsite.broker import prepare

    prepare(celery, [queue.name for queue in celery["task_queues"]])
    click.echo(f"Broker ready: {celery['broker_url']}")


@click.command("sweep")
@with_appcontext
def sweep() -> None:
    """Run every sweep once, without a worker: publish, remind, digest, end notices, deliver mail
    (what is due by the database's clock)."""
    with unit_of_work():
        published = publication.publish_due(now=database_now())
    with unit_of_work():
        reminded = reminders.send_due_reminders(now=database_now())
    with unit_of_work():
        digested = digests.queue_digests(now=database_now())
    with unit_of_work():
        ended = pressure_notices.expire_due(now=database_now())
    with unit_of_work():
        claims.expire_due(now=database_now())
        team.expire_due(now=database_now())
    outcomes = delivery.deliver_pending()
    click.echo(f"published={len(published)} reminded={len(reminded)} digests={len(digested)} "
               f"notices_ended={len(ended)} mail={outcomes}")


def _account(email: str) -> User:
    user = accounts.find_by_email(email)
    if user is None:
        raise click.ClickException(f"no account with email {email}")
    return user


@click.command("create-moderator")
@with_appcontext
@click.argument("email")
def create_moderator(email: str) -> None:
    """Give an existing account moderator powers."""
    with unit_of_work():
        moderation.appoint(_account(email), now=now_utc())
    click.echo(f"{email} is now a moderator")


@click.command("remove-moderator")
@with_appcontext
@click.argument("email")
def remove_moderator(email: str) -> None:
    """Take moderator powers away from an account (its past decisions stay, in the log)."""
    with unit_of_work():
        user = _account(email)
        if not user.is_moderator:
            raise click.ClickException(f"{email} is not a moderator")
        moderation.dismiss_moderator(user, now=now_utc())
    click.echo(f"{email} is no longer a moderator")


@click.group("outbox")
def outbox() -> None:
    """Inspect and retry notifications whose email could not be delivered."""


@outbox.command("dead")
@with_appcontext
def outbox_dead() -> None:
    for row in mail_queue.dead():
        click.echo(f"{row.id}\t{row.kind}\tattempts={row.attempts}\t{row.last_error or ''}")


@outbox.command("retry")
@with_appcontext
@click.argument("ids", nargs=-1, type=int)
def outbox_retry(ids: tuple[int, ...]) -> None:
    """Put dead notifications (all, or the given ids) back in the queue."""
    with unit_of_work():
        count = mail_queue.retry_dead(ids=ids, now=now_utc())
    click.echo(f"requeued {count}")


def init_app(app: Flask) -> None:
    for command in (seed_demo, prepare_broker, sweep, create_moderator, remove_moderator, outbox):
        app.cli.add_command(command)
