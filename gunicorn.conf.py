"""gunicorn's settings for the Procfile's ``web`` beyond its command line: the worker hook.

Why freeze: a worker builds the app (Flask, SQLAlchemy's mappers, Jinja's compiled templates)
once and keeps it for its life, and Python's cyclic garbage collector would walk every one of
those objects again at each full collection, in the middle of some request. ``gc.freeze()``
after start-up moves them out of the collector's view, as the Python documentation advises for
long-lived processes; what requests allocate is collected as before. BENCHMARKS.md has the
figures.
"""

import gc


def post_worker_init(worker):  # noqa: ARG001 - gunicorn's hook signature
    gc.collect()  # start-up's garbage first, so that none of it is kept for ever
    gc.freeze()
