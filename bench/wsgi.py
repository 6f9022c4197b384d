"""The app exactly as production builds it, plus one trivial route that exists only here:
``/bench/ping`` is the baseline every page is compared with, under the same gunicorn settings."""

from reviewsite import create_app

app = create_app(migrations=False)


@app.get("/bench/ping")
def bench_ping() -> str:
    return "ok"
