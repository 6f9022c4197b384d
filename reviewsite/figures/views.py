"""The owner's view of a business's make-it-right figures: a page of charts over the last 26
weeks and the same figures as CSV. Verified members of the business only (its owners and staff,
who answer the complaints); anyone else gets a 404, as for any private object."""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, abort, render_template
from flask_login import current_user, login_required

from reviewsite.clock import now_utc
from reviewsite.figures.charts import Chart, chart
from reviewsite.models import Business
from reviewsite.services import access, businesses, record

bp = Blueprint("figures", __name__)

WEEKS = 26


def _member_business_or_404(slug: str) -> Business:
    business = businesses.by_slug(slug)
    if business is None or access.role_of(current_user, business) is None:
        abort(404)
    return business


def _hours(seconds: float) -> str:
    hours = seconds / 3600
    return f"{hours:.0f} hours" if hours >= 10 else f"{hours:.1f} hours"


def _charts(weeks: list[record.Week]) -> list[Chart]:
    labels = [f"{week.starts:%d %b}" for week in weeks]
    figures = [week.figures for week in weeks]
    return [
        chart("received", "Complaints received per week",
              "Reviews that went to the business privately first, by the week they arrived.",
              labels, [("Complaints", "series-a", [f.received for f in figures])], text=lambda v: f"{v:.0f}"),
        chart("answered", "Share answered within the window",
              "Of each week's complaints whose window has ended, those answered in the private thread before it ended.",
              labels, [("Answered", "series-a", [100 * f.answered_share if f.ended else None for f in figures])],
              text=lambda v: f"{v:.0f}%", top=100),
        chart("reply", "Median time to the first private reply",
              "Half of each week's answered complaints had a first reply sooner than this.",
              labels, [("Median first reply", "series-a", [f.median_reply_seconds for f in figures])], text=_hours),
        chart("stars", "Stars before and after the window",
              "The average rating each week's complaints were given, and the one they have now they are public.",
              labels, [("Stars given", "series-b", [f.stars_before for f in figures]),
                       ("Stars now", "series-a", [f.stars_after for f in figures])],
              text=lambda v: f"{v:.1f}", kind="lines", top=5),
        chart("resolved", "Marked resolved by the reviewer",
              "Of each week's complaints, those the reviewer has marked resolved.",
              labels, [("Resolved", "series-a", [f.resolved for f in figures])], text=lambda v: f"{v:.0f}"),
    ]


@bp.route("/b/<slug>/figures")
@login_required
def page(slug: str):
    business = _member_business_or_404(slug)
    now = now_utc()
    weeks = record.weekly(business.id, now=now, weeks=WEEKS)
    return render_template("figures/page.html", business=business, weeks=weeks, charts=_charts(weeks),
                           totals=record.record(business.id, now=now))


CSV_COLUMNS = ("week_starting", "complaints_received", "windows_ended", "answered_within_window",
               "share_answered_percent", "median_first_reply_hours", "marked_resolved", "released_by_reviewer",
               "released_by_business", "withdrawn_after_remedy", "published_with_response",
               "average_stars_given", "average_stars_now")


@bp.route("/b/<slug>/figures.csv")
@login_required
def download(slug: str):
    business = _member_business_or_404(slug)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)

    def number(value: float | None, digits: int = 1) -> str:
        return "" if value is None else f"{value:.{digits}f}"

    for week in record.weekly(business.id, now=now_utc(), weeks=WEEKS):
        f = week.figures
        writer.writerow([
            f"{week.starts:%Y-%m-%d}", f.received, f.ended, f.answered,
            number(100 * f.answered_share if f.answered_share is not None else None, 0),
            number(f.median_reply_seconds / 3600 if f.median_reply_seconds is not None else None),
            f.resolved, f.released_by_reviewer, f.released_by_business, f.withdrawn_after_remedy,
            f.published_with_response, number(f.stars_before, 2), number(f.stars_after, 2),
        ])
    return Response(out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{business.slug}-make-it-right-figures.csv"',
        "Cache-Control": "private, no-store"})
