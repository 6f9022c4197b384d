"""The embedded Celery broker: kombu's SQLAlchemy transport on a SQLite file in the instance folder.

Why not kombu's filesystem transport, the embedded default before: its publisher creates each
message file under its final name and only then locks and writes it, and its consumer takes any
file it finds by renaming it, without that lock. Now and then a worker took a file in between,
read nothing and died on ``JSONDecodeError`` ("Unrecoverable error"; reproduced with two
publishers and a consumer: 5 empty reads in 1,082 messages). Its exchange tables (the fanout and
remote-control files) are created by truncating the file before locking it, the same race. No
setting of that transport and no Celery feature switched off closes the race on the messages
themselves. Here every publish and every take is a SQLite transaction (``BEGIN IMMEDIATE`` for a
take): a message is either wholly in its queue or not there, whichever process looks.

What this transport has not: fanout (so no remote control, ``celery inspect``) and gossip or
mingle (Celery switches them off on a transport without fanout, and ``--without-heartbeat`` keeps
the worker's heartbeat events, which no one could receive, out of the queues).

Two differences from kombu's own transport:

- it polls every :data:`POLL_SECONDS` instead of every second. A worker whose pool is full waits a
  whole poll before it takes the next message, so at one second it ran about two tasks a second,
  fewer than beat's sweeps. kombu hands every transport option to ``create_engine``, so
  ``polling_interval`` cannot be given as one;
- a message it takes is deleted. kombu keeps each one with ``visible = 0`` for ever, and its poll
  (``visible != 0 ORDER BY timestamp, id``, no index for ``!=``) walks past all of them: a site up
  for a week would poll ever more slowly, holding the write lock while it does. A taken message is
  the worker's alone from then on (kombu keeps unacknowledged ones in the consumer and puts them
  back as new rows), so nothing reads the hidden row again.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from typing import Any

from kombu.transport import sqlalchemy as kombu_sqlalchemy
from sqlalchemy.exc import SADeprecationWarning
from sqlalchemy.orm import configure_mappers

# A take is one short transaction: ten a second per queue costs the worker about 1 % of a core.
POLL_SECONDS = 0.1


class Channel(kombu_sqlalchemy.Channel):
    def __init__(self, connection: Any, **kwargs: Any) -> None:
        super().__init__(connection, **kwargs)  # defines kombu's models
        # Their relationship asks for lazy="noload", which SQLAlchemy 2.1 deprecates (kombu's to
        # change): configured here, once, so that the warning does not come with a query later.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SADeprecationWarning)
            configure_mappers()

    def _get(self, queue: str) -> Any:
        payload = super()._get(queue)  # raises queue.Empty when there is none
        self.session.query(self.message_cls).filter(self.message_cls.visible.is_(False)).delete(
            synchronize_session=False)
        self.session.commit()
        return payload


class Transport(kombu_sqlalchemy.Transport):
    Channel = Channel
    polling_interval = POLL_SECONDS


def prepare(celery: Mapping[str, Any], queues: Iterable[str]) -> None:
    """Create the broker's tables and queues before the site's processes start (``flask
    prepare-broker``, run by bin/run). Each process would create them on first use, and two doing
    it at once collide: ``table already exists``, or a duplicate queue name, which kombu does
    not catch and which stops a worker."""
    from kombu import Connection

    with Connection(celery["broker_url"], transport=celery["broker_transport"],
                    transport_options=celery["broker_transport_options"]) as connection:
        channel = connection.default_channel
        for name in queues:
            channel._new_queue(name)
