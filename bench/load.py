"""Bulk-load the benchmark data set with COPY (psycopg 3), not one ORM object at a time.

Users: reviewers 1..U, then one owner per business, then "spare" users who have reviewed nothing
(they write the reviews of the POST benchmark and of the lateness run). Businesses: business 1 is
the popular one. Reviews: 10% held, release times spread from an hour ago to a week ahead; the
published ones include reviews that were held before (so the make-it-right record is not empty).
``business.rating_count/rating_sum`` are set from the reviews (held + published) at the end.
"""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime, timedelta

from werkzeug.security import generate_password_hash

from bench.common import PASSWORD, WORK, Profile, connect, log

CITIES = ["Springfield", "Riverton", "Lakeside", "Fairview", "Greenville", "Bristol", "Clinton", "Franklin",
          "Georgetown", "Madison", "Salem", "Ashland", "Burlington", "Chester", "Dayton", "Dover", "Hudson",
          "Kingston", "Lebanon", "Milton", "Newport", "Oxford", "Plymouth", "Richmond", "Shelby", "Sutton",
          "Troy", "Union", "Warren", "Winchester", "Auburn", "Bedford", "Camden", "Easton", "Florence",
          "Glendale", "Hamilton", "Jackson", "Lancaster", "Marion"]
ADJECTIVES = ["Golden", "Silver", "Blue", "Red", "Green", "Happy", "Lucky", "Old", "New", "Little", "Grand",
              "Royal", "Sunny", "Quiet", "Urban", "Rustic", "Corner", "Village", "Harbor", "Maple"]
NOUNS = ["Spoon", "Fork", "Oak", "Lantern", "Anchor", "Bridge", "Garden", "Mill", "Crown", "Fox", "Owl",
         "Bear", "Willow", "Stone", "River", "Hill", "Bell", "Key", "Star", "Leaf", "Wheel", "Barrel", "Pine",
         "Rose", "Kettle"]
KINDS = {"Restaurant": "Kitchen", "Cafe": "Cafe", "Bar": "Tavern", "Shop": "Store", "Hotel": "Inn",
         "Trades": "Builders", "Health": "Clinic", "Beauty": "Salon", "Auto": "Garage", "Services": "Services",
         "Other": "Company"}
CATEGORY_LIST = list(KINDS)
TITLES = ["Great experience", "Would come back", "Not what I expected", "Friendly staff", "Slow service",
          "Excellent value", "Disappointing visit", "Solid choice", "Could be better", "Absolutely loved it",
          "Mixed feelings", "Overpriced", "Hidden gem", "Rude at the counter", "Fast and reliable"]
SENTENCES = ["The staff were friendly and quick to help.", "We waited almost forty minutes for a table.",
             "Prices are fair for what you get.", "The place was clean and well lit.",
             "My order arrived cold and nobody apologised.", "I have been coming here for years.",
             "Parking is difficult at the weekend.", "They fixed the problem the same afternoon.",
             "The manager listened and offered to make it right.", "Portions were generous and tasty.",
             "Booking online was easy.", "I would recommend it to friends.",
             "The noise level made conversation hard.", "Everything was exactly as described."]


def business_rows(n: int, rng: random.Random, now: datetime):
    for i in range(1, n + 1):
        city = CITIES[(i * 7) % len(CITIES)]
        if i == 1:
            name, category, city = "Popular Pantry", "Restaurant", "Springfield"
        else:
            category = CATEGORY_LIST[i % len(CATEGORY_LIST)]
            name = f"{ADJECTIVES[i % len(ADJECTIVES)]} {NOUNS[(i // len(ADJECTIVES)) % len(NOUNS)]} {KINDS[category]}"
        slug = f"{name} {city}".lower().replace(" ", "-") + f"-{i}"
        yield (i, slug, name, category, city, f"{i} Main Street", "A business in the benchmark data set.",
               0, 0, now - timedelta(days=800))


def review_rows(p: Profile, rng: random.Random, now: datetime):
    """(business, author) pairs are unique: business 1 gets authors 1..popular_reviews, business b
    gets authors (b * 7919 + k) mod U + 1 for k below its count (distinct since count < U)."""
    others = p.reviews - p.popular_reviews
    per, extra = divmod(others, p.businesses - 1)
    rid = 0
    week = 7 * 24 * 3600
    window = timedelta(hours=72)
    for b in range(1, p.businesses + 1):
        count = p.popular_reviews if b == 1 else per + (1 if b - 2 < extra else 0)
        for k in range(count):
            rid += 1
            author = k + 1 if b == 1 else (b * 7919 + k) % p.users + 1
            title = TITLES[rid % len(TITLES)]
            body = " ".join(SENTENCES[(rid * j) % len(SENTENCES)] for j in (1, 3, 5, 7))
            r = rng.random()
            if r < 0.10:  # held now: released between an hour ago and a week ahead
                publish_at = now + timedelta(seconds=rng.uniform(-3600, week))
                held_at = publish_at - window
                yield (rid, b, author, rng.randint(1, 3), title, body, "held", held_at, held_at, publish_at,
                       0, None, None, 0, None, None)
            elif r < 0.28:  # published after a make-it-right window
                published_at = now - timedelta(seconds=rng.uniform(3600, 730 * 86400))
                held_at = published_at - window
                replied = held_at + timedelta(hours=5) if rng.random() < 0.6 else None
                yield (rid, b, author, rng.randint(1, 3), title, body, "published", held_at, held_at,
                       published_at, 0, replied, None, 0, published_at, "system")
            else:  # high stars, published at once
                published_at = now - timedelta(seconds=rng.uniform(3600, 730 * 86400))
                yield (rid, b, author, rng.choice((4, 5, 5)), title, body, "published", published_at, None,
                       None, 0, None, None, 0, published_at, None)


def load(p: Profile) -> dict:
    rng = random.Random(42)
    now = datetime.now(UTC)
    pw_hash = generate_password_hash(PASSWORD)
    owners_start = p.users + 1
    spare_start = p.users + p.businesses + 1
    total_users = p.users + p.businesses + p.spare_users
    started = time.monotonic()
    with connect() as conn, conn.cursor() as cur:
        cur.execute("SET synchronous_commit = off")
        cur.execute("SET maintenance_work_mem = '512MB'")
        t = time.monotonic()
        with cur.copy('COPY "user" (id, email, display_name, password_hash, email_confirmed_at, is_moderator, '
                      "created_at) FROM STDIN") as copy:
            confirmed = now - timedelta(days=900)
            for i in range(1, total_users + 1):
                copy.write_row((i, f"u{i}@bench.example.com", f"User {i}", pw_hash, confirmed, False, confirmed))
        log(f"users: {total_users} in {time.monotonic() - t:.1f}s")
        t = time.monotonic()
        with cur.copy("COPY business (id, slug, name, category, city, address, description, rating_count, "
                      "rating_sum, created_at) FROM STDIN") as copy:
            for row in business_rows(p.businesses, rng, now):
                copy.write_row(row)
        with cur.copy("COPY membership (id, business_id, user_id, role, created_at) FROM STDIN") as copy:
            for b in range(1, p.businesses + 1):
                copy.write_row((b, b, owners_start + b - 1, "owner", now - timedelta(days=800)))
        log(f"businesses and owners: {p.businesses} in {time.monotonic() - t:.1f}s")
        t = time.monotonic()
        with cur.copy("COPY review (id, business_id, author_id, stars, title, body, status, created_at, held_at, "
                      "publish_at, extended_seconds, first_business_reply_at, reminder_due_at, reminders_sent, "
                      "published_at, released_by) FROM STDIN") as copy:
            for row in review_rows(p, rng, now):
                copy.write_row(row)
        log(f"reviews: {p.reviews} in {time.monotonic() - t:.1f}s")
        t = time.monotonic()
        for table in ("user", "business", "membership", "review"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), (SELECT max(id) FROM \"{table}\"))")
        cur.execute("""
            UPDATE business b SET rating_count = r.n, rating_sum = r.s
            FROM (SELECT business_id, count(*) AS n, sum(stars) AS s FROM review
                  WHERE status IN ('held', 'published') GROUP BY business_id) r
            WHERE r.business_id = b.id""")
        conn.commit()
        log(f"ratings in {time.monotonic() - t:.1f}s")
    t = time.monotonic()
    with connect(autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) ")
        # The load writes gigabytes of WAL, so PostgreSQL is usually in the middle of a checkpoint
        # when it ends, and a spread checkpoint writes its buffers through the next minutes: into
        # the web phase, at a different moment in every run. The measurements start after it.
        conn.execute("CHECKPOINT")
    log(f"vacuum analyze and checkpoint in {time.monotonic() - t:.1f}s")
    with connect() as conn:
        slug = conn.execute("SELECT slug FROM business WHERE id = 1").fetchone()[0]
        held = conn.execute("SELECT count(*) FROM review WHERE status = 'held'").fetchone()[0]
        popular = conn.execute("SELECT count(*) FROM review WHERE business_id = 1").fetchone()[0]
        size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0]
    dataset = {
        "users": total_users,
        "businesses": p.businesses,
        "reviews": p.reviews,
        "held": held,
        "popular_slug": slug,
        "popular_reviews": popular,
        "spare_start": spare_start,
        "spare_count": p.spare_users,
        "search_q": "spoon",
        "search_city": "Springfield",
        "load_seconds": round(time.monotonic() - started, 1),
        "database_size": size,
    }
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "dataset.json").write_text(json.dumps(dataset, indent=2))
    return dataset
