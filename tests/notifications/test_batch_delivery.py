"""A delivery batch over a real SMTP server on loopback: one query to load it, one statement to
record what the server accepted, only the refused mail backing off, accepted mail recorded before
half the lease, a crash between acceptance and recording costing at most one more copy (with the
same Message-ID), and mail that parses back to exactly what was rendered."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import timedelta

import pytest
from flask import current_app
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from reviewsite.extensions import db
from reviewsite.models import EmailStatus, Notification
from reviewsite.notifications import delivery, transport
from reviewsite.notifications.rendering import OutgoingMail, message_id_for
from reviewsite.services import mail_queue, reviews
from reviewsite.unit_of_work import unit_of_work
from tests.factories import BusinessFactory, MembershipFactory, UserFactory
from tests.smtp_sink import RecordingHandler, free_port, serving

HELD_SUBJECT = "A 2-star review of Corner Cafe is waiting for you"


class Handler(RecordingHandler):
    """Refuses mail to some addresses (451), and can move the app's clock on every mail it takes,
    to play a slow server without sleeping."""

    def __init__(self) -> None:
        super().__init__()
        self.refuse: set[str] = set()
        self.clock = None
        self.step = timedelta(0)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        if self.clock is not None:
            self.clock.advance(self.step)
        if set(envelope.rcpt_tos) & self.refuse:
            self.refused += 1
            return "451 4.3.0 Try again later"
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def server(app):
    with serving(app, Handler()) as smtp:
        yield smtp


def held_mails(members: int, clock, *, business_name: str = "Corner Cafe", prefix: str = "") -> list[int]:
    """A 2-star review of a business with this many members: one review_held row per member."""
    with unit_of_work():
        shop = BusinessFactory(name=business_name)
        for i in range(members):
            MembershipFactory(business=shop, user=UserFactory(email=f"{prefix}member{i}@example.com"))
        review = reviews.submit_review(UserFactory(email=f"{prefix}reviewer@example.com"), shop, stars=2,
                                       title="Cold", body="Soup", now=clock.now())
    return list(db.session.scalars(
        select(Notification.id).where(Notification.kind == "review_held", Notification.review_id == review.id)
        .order_by(Notification.id)))


def lease_length() -> timedelta:
    return mail_queue.lease()


def backoff_base() -> timedelta:
    return timedelta(seconds=current_app.config["MAIL_BACKOFF_BASE_SECONDS"])


def rows(ids: list[int]) -> list[Notification]:
    db.session.expire_all()
    return list(db.session.scalars(select(Notification).where(Notification.id.in_(ids)).order_by(Notification.id)))


def statements_for(batch_size: int, clock, db_connection) -> int:
    ids = held_mails(batch_size, clock, prefix=f"b{batch_size}-")
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db_connection, "before_cursor_execute", count)
    try:
        outcomes = delivery.deliver_batch(ids)
    finally:
        event.remove(db_connection, "before_cursor_execute", count)
    assert outcomes == dict.fromkeys(ids, "sent")
    return len(seen)


def test_a_batch_costs_one_statement_per_mail_beyond_a_fixed_few(server, ctx, clock, db_connection):
    """Loading and claiming are per batch; only recording each accepted mail is per mail: its
    UPDATE, on the connection held through the conversation (no BEGIN or COMMIT around it)."""
    counts = {size: statements_for(size, clock, db_connection) for size in (2, 5, 9)}
    per_mail = (counts[9] - counts[5]) / 4
    assert per_mail == (counts[5] - counts[2]) / 3, counts
    assert per_mail == 1, counts
    assert len(server.mails) == 16


def test_a_refused_mail_backs_off_alone(server, ctx, clock):
    ids = held_mails(5, clock)
    server.handler.refuse = {"member2@example.com"}
    outcomes = delivery.deliver_batch(ids)
    refused = rows(ids)[2]
    assert outcomes == {**dict.fromkeys(ids, "sent"), refused.id: "failed"}
    assert sorted(m.to for m in server.mails) == [f"member{i}@example.com" for i in (0, 1, 3, 4)]
    for row in rows(ids):
        if row.id == refused.id:
            assert row.email_status is EmailStatus.PENDING and row.attempts == 1 and row.lease_until is None
            assert row.next_attempt_at == clock.now() + backoff_base()
            assert "451" in row.last_error
        else:
            assert row.email_status is EmailStatus.SENT and row.sent_at == clock.now() and row.lease_until is None

    server.handler.refuse = set()
    clock.advance(backoff_base())
    assert delivery.deliver_pending() == {"sent": 1}
    assert len(server.mails) == 5
    assert len({m.message_id for m in server.mails}) == 5


def test_accepted_mail_is_recorded_before_half_the_lease_and_the_rest_given_back(
        server, ctx, clock, monkeypatch):
    ids = held_mails(6, clock)
    recorded: list[int] = []
    mark_sent = mail_queue.mark_sent

    def spy(notification_id, *, now):
        recorded.append(notification_id)
        mark_sent(notification_id, now=now)

    monkeypatch.setattr(mail_queue, "mark_sent", spy)
    # Each mail takes a fifth of the lease: the third ends past half of it.
    server.handler.clock, server.handler.step = clock, lease_length() / 5
    outcomes = delivery.deliver_batch(ids)
    assert [m.to for m in server.mails] == [f"member{i}@example.com" for i in range(3)]
    # Each accepted mail is recorded before the next goes; nothing is sent past half the lease.
    assert recorded == ids[:3]
    assert outcomes == {**dict.fromkeys(ids[:3], "sent"), **dict.fromkeys(ids[3:], "skipped")}
    after = rows(ids)
    assert [r.email_status for r in after] == [EmailStatus.SENT] * 3 + [EmailStatus.PENDING] * 3
    assert all(r.lease_until is None for r in after)
    # The rest goes with the next delivery, at once: it was given back, not left to its lease.
    server.handler.clock = None
    assert delivery.deliver_pending() == {"sent": 3}
    assert len(server.mails) == 6


def test_a_record_that_fails_is_tried_again_before_the_next_mail_goes(server, ctx, clock, monkeypatch):
    """The database refuses to record the first accepted mail once: it is recorded on the next
    try, before the second mail goes, and the mails after it are each recorded as before. None
    is marked failed (that would send it again)."""
    ids = held_mails(3, clock)
    monkeypatch.setattr(delivery, "RECORD_RETRY_DELAYS", (0, 0))
    mark_sent = mail_queue.mark_sent
    calls: list[tuple[int, int]] = []  # (notification, mails the server had taken by then)

    def refused_once(notification_id, *, now):
        calls.append((notification_id, len(server.mails)))
        if len(calls) == 1:
            raise OperationalError("UPDATE notification ...", {}, Exception("the server closed the connection"))
        mark_sent(notification_id, now=now)

    monkeypatch.setattr(mail_queue, "mark_sent", refused_once)
    assert delivery.deliver_batch(ids) == dict.fromkeys(ids, "sent")
    assert calls == [(ids[0], 1), (ids[0], 1), (ids[1], 2), (ids[2], 3)]
    assert [r.email_status for r in rows(ids)] == [EmailStatus.SENT] * 3
    assert len(server.mails) == 3


class Crash(BaseException):
    """The worker process dies (not an error the code could handle)."""


@pytest.mark.parametrize("crash_at", [1, 2, 3])
def test_a_crash_between_acceptance_and_recording_sends_one_mail_once_more(server, ctx, clock, monkeypatch, crash_at):
    """A worker killed after the server accepted its n-th mail, before recording it: the mails
    before it are recorded, that one goes once more (same Message-ID), the rest go once."""
    ids = held_mails(3, clock)
    mark_sent = mail_queue.mark_sent
    calls = []

    def crash_on_nth(notification_id, *, now):
        calls.append(notification_id)
        if len(calls) == crash_at:
            raise Crash()
        mark_sent(notification_id, now=now)

    monkeypatch.setattr(mail_queue, "mark_sent", crash_on_nth)
    with pytest.raises(Crash):
        delivery.deliver_batch(ids)
    monkeypatch.undo()
    assert len(server.mails) == crash_at
    assert [r.email_status for r in rows(ids)] == (
        [EmailStatus.SENT] * (crash_at - 1) + [EmailStatus.PENDING] * (3 - crash_at + 1))

    # Nobody sends the rest while the lease runs...
    clock.advance(lease_length() - timedelta(seconds=1))
    assert delivery.deliver_pending() == {}
    # ...then once each, and never again.
    clock.advance(seconds=1)
    assert delivery.deliver_pending() == {"sent": 3 - crash_at + 1}
    clock.advance(days=1)
    assert delivery.deliver_pending() == {}
    sent = [m.message_id for m in server.mails]
    assert len(sent) == 3 + 1
    assert sorted(sent.count(message_id) for message_id in set(sent)) == [1, 1, 2]
    assert sent.count(message_id_for(rows(ids)[crash_at - 1])) == 2


def test_a_batch_to_a_server_that_is_down_backs_off_every_row(app, ctx, clock):
    ids = held_mails(3, clock)
    saved = {key: app.config[key] for key in ("MAIL_SERVER", "MAIL_PORT")}
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())  # nobody listens there
    try:
        assert delivery.deliver_batch(ids) == dict.fromkeys(ids, "failed")
    finally:
        app.config.update(saved)
    for row in rows(ids):
        assert row.email_status is EmailStatus.PENDING and row.attempts == 1 and row.lease_until is None
        assert row.next_attempt_at == clock.now() + backoff_base()


def test_the_mail_parses_back_to_what_was_rendered(server, ctx, clock):
    ids = held_mails(1, clock, business_name="Café Ünïcode =?utf-8?q?x?= “quoted”")
    assert delivery.deliver_batch(ids) == {ids[0]: "sent"}
    (mail,) = server.mails
    assert mail.subject == "A 2-star review of Café Ünïcode =?utf-8?q?x?= “quoted” is waiting for you"
    assert "Café Ünïcode" in mail.text and "Café Ünïcode" in mail.html
    # RFC 2369: the link as it is, between angle brackets, not in encoded words (it may be folded
    # onto a continuation line, never split).
    assert re.search(r"\nList-Unsubscribe:\s*<http://reviewsite\.test/unsubscribe/[\w.-]+>\r?\n", mail.raw)
    assert re.fullmatch(r"<http://reviewsite\.test/unsubscribe/[\w.-]+>", mail.headers["List-Unsubscribe"].strip())
    assert mail.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail.headers["Auto-Submitted"] == "auto-generated"
    assert mail.message_id == message_id_for(rows(ids)[0])


@pytest.mark.parametrize("text", [
    "short ascii\n",
    "no newline at the end",
    ".\n.. a line of dots\nFrom the start of a line\n",
    "trailing spaces   \nand tabs\t\n",
    "a long line " + "x" * 200 + "\nand a=b and =?utf-8?q?not-a-word?=\n",
    "non-ascii: Grüße, ☕, 日本語\n" + "é" * 120 + "\n",
    "--=_boundary-looking line\n",
    "\n\nblank lines first and last\n\n",
])
def test_outgoing_mail_round_trips_through_a_real_smtp_server(server, ctx, text):
    long_subject = "Subject " + " ".join(f"word{i}" for i in range(40))
    message = OutgoingMail(
        sender="noreply@reviewsite.test",
        recipient="someone@example.com",
        headers=(("From", "Reviewsite Team <noreply@reviewsite.test>"), ("To", "someone@example.com"),
                 ("Subject", long_subject), ("Message-ID", "<n1.abc@reviewsite.test>"),
                 ("X-Long", "<http://reviewsite.test/" + "y" * 300 + ">")),
        text=text, html=f"<p>{text}</p>")
    with transport.opened() as mail:
        mail.send(message)
    (mail,) = server.mails
    expected = text if text.endswith("\n") else text + "\n"
    # (The parser hands back the body's line ends as they went over the wire: CRLF.)
    assert mail.text.replace("\r\n", "\n") == expected
    assert mail.html.replace("\r\n", "\n") == f"<p>{text}</p>\n"
    assert mail.subject == long_subject
    # (Folded onto a continuation line, whole: the parser keeps the fold's leading space.)
    assert mail.headers["X-Long"].strip() == "<http://reviewsite.test/" + "y" * 300 + ">"
    assert mail.message_id == "<n1.abc@reviewsite.test>"
    parsed = email.message_from_string(mail.raw, policy=email.policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    assert all(len(line) <= 998 for line in mail.raw.split("\r\n"))


def test_a_header_with_a_line_break_fails_the_render_not_the_batch(server, ctx, clock):
    ids = held_mails(2, clock, business_name="Evil\r\nBcc: victim@example.com")
    outcomes = delivery.deliver_batch(ids)
    assert outcomes == dict.fromkeys(ids, "failed")
    assert server.mails == []
    assert all("line break" in r.last_error for r in rows(ids))


@pytest.mark.parametrize(("to", "subject"), [
    ("someone@example.com", "plain ASCII that reads like =?utf-8?q?an_encoded_word?="),
    ("someone@example.com", "Grüße from the Café, " + "long " * 30),
    ("jörg@exämple.com", "Grüße from the Café =?utf-8?q?x?="),
    ("jörg@exämple.com", "Grüße from the Café"),
])
def test_headers_read_back_as_written(to, subject):
    """What a mail client sees: each header as it was rendered, the address raw UTF-8 when the
    mail goes with SMTPUTF8 (no encoded words in an address), every line within 998 octets."""
    message = OutgoingMail(
        sender="noreply@reviewsite.test", recipient=to,
        headers=(("From", "Reviewsite Team <noreply@reviewsite.test>"), ("To", to), ("Subject", subject),
                 ("Message-ID", "<n1.abc@reviewsite.test>")),
        text="Hello\n", html="<p>Hello</p>\n")
    raw = message.as_bytes()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert str(parsed["Subject"]) == subject
    assert str(parsed["To"]) == to
    assert parsed["Message-ID"] == "<n1.abc@reviewsite.test>"
    if message.needs_smtputf8:
        assert f"\r\nTo: {to}\r\n".encode() in raw
    else:
        assert raw.isascii()
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert parsed.get_body(("plain",)).get_content().replace("\r\n", "\n") == "Hello\n"


def test_a_header_with_a_line_break_is_refused_before_anything_is_written():
    message = OutgoingMail(
        sender="noreply@reviewsite.test", recipient="someone@example.com",
        headers=(("To", "someone@example.com"), ("Subject", "Hi\nBcc: victim@example.com")),
        text="x", html="x")
    with pytest.raises(ValueError, match="line break"):
        message.as_bytes()


def test_a_sender_that_outlived_its_lease_cannot_undo_the_next_senders_work(server, ctx, clock):
    """A sender paused longer than its lease (a stopped VM: its time limit cannot end it) resumes
    after the next sender has mailed its rows: its failures and give-backs then touch nothing, or
    it would put a sent mail back to pending (or clear the new sender's lease) and it would go
    once more."""
    ids = held_mails(2, clock)
    with unit_of_work():
        paused_lease = clock.now() + mail_queue.lease()
        assert mail_queue.claim(ids, now=clock.now()) == ids  # the sender that will be paused
    clock.advance(mail_queue.lease() + timedelta(seconds=1))
    assert delivery.deliver_batch(ids) == dict.fromkeys(ids, "sent")  # the next sender
    with unit_of_work():  # the paused one resumes: one mail failed, the other is given back
        mail_queue.back_off({ids[0]: "SMTPServerDisconnected"}, now=clock.now(), lease_until=paused_lease)
        mail_queue.release([ids[1]], lease_until=paused_lease)
    assert [(row.email_status, row.lease_until) for row in rows(ids)] == [(EmailStatus.SENT, None)] * 2
    assert delivery.deliver_pending() == {}
    assert len(server.mails) == 2


def test_a_delivery_message_names_its_ids_by_count_and_range():
    """What the worker's log and a monitor show of a message: Celery's own repr of a sweep's
    thousand ids was cut at 1,024 characters and cost more than the rest of the dispatch."""
    from reviewsite.notifications.dispatch import ids_repr

    assert ids_repr(list(range(101, 1101))) == "[1000 notification ids, 101..1100]"
    assert ids_repr([7]) == "[1 notification id, 7..7]"
