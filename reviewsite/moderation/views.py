"""Reporting, the moderators' queue and cases, statements of reasons and appeals, the rules and
the transparency report.

Who may see what: the queue, cases and the action log are for moderators only (a 404 for
anyone else, like every private page); a statement of reasons for the people it concerns and
moderators; a report page for whoever can see the item (a thread's parties for its messages).
"""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from reviewsite.clock import now_utc
from reviewsite import limits
from reviewsite.extensions import db
from reviewsite.models import Appeal, Decision, ItemKind
from reviewsite.moderation.forms import AppealDecisionForm, AppealForm, DecisionForm, ReportForm
from reviewsite.services import (
    appeals,
    decisions,
    moderated_items,
    moderation,
    moderation_queue,
    reports,
    transparency,
)
from reviewsite.services.errors import DomainError
from reviewsite.services.rules import RULES, rule_text, rules_for
from reviewsite.web import attempt, form_status

bp = Blueprint("moderation", __name__)
bp.add_app_template_global(rule_text, "rule_text")
bp.add_app_template_global(lambda rule: rule_text(rule).title, "rule_title")



def moderators_only(view):
    """The moderators' pages do not exist for anyone else (404, as for a private review)."""

    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.is_moderator:
            abort(404)
        return view(*args, **kwargs)

    return wrapper


def _item_or_404(kind: str, item_id: int) -> moderated_items.Item:
    item = moderated_items.load(kind, item_id)
    if item is None or not moderated_items.can_see(current_user, item):
        abort(404)
    return item


# -- reporting ------------------------------------------------------------------------------------


@bp.route("/report/<kind>/<int:item_id>", methods=["GET", "POST"])
@limits.limited(*limits.REPORT)
@login_required
def report(kind: str, item_id: int):
    item = _item_or_404(kind, item_id)
    form = ReportForm().for_kind(item.kind)
    if request.method == "GET":
        try:
            moderated_items.check_reportable(item)
        except DomainError as gone:  # withdrawn, or already removed: say so (410 Gone)
            return render_template("moderation/report.html", form=None, item=item, gone=str(gone),
                                   back=_back_to(item)), 410
        suggested = request.args.get("reason", "")
        if suggested in {text.rule.value for text in rules_for(item.kind)}:
            form.reason.data = suggested
    if form.validate_on_submit():
        ok, _ = attempt(lambda: reports.file_report(current_user, item, form.reason.data, form.note.data or "",
                                                    now=now_utc()), form)
        if ok:
            flash("Thank you. Your report went to our moderators; the item stays as it is until one of them "
                  "decides. You will hear what they decide.", "success")
            return redirect(_back_to(item))
    return render_template("moderation/report.html", form=form, item=item,
                           descriptions=form.descriptions(item.kind), back=_back_to(item)), form_status(form)


def _back_to(item: moderated_items.Item) -> str:
    if item.kind is ItemKind.LISTING:
        return url_for("public.business", slug=item.business.slug)
    if item.kind is ItemKind.MESSAGE:
        return url_for("reviews.show", review_id=item.review.id) + f"#message-{item.id}"
    return url_for("reviews.show", review_id=item.review.id)


@bp.route("/me/reports")
@login_required
def my_reports():
    return render_template("moderation/my_reports.html", rows=reports.reports_by(current_user))


# -- statements of reasons and appeals --------------------------------------------------------------


def _decision_or_404(decision_id: int) -> Decision:
    decision = db.session.get(Decision, decision_id)
    if decision is None or not decisions.may_see(current_user, decision):
        abort(404)
    return decision


def _decision_page(decision: Decision, form: AppealForm | None = None, status: int = 200):
    item = moderated_items.load_key(decision.target_key)
    refusal = appeals.refusal(decision, current_user, now=now_utc())
    final = decisions.made_on_appeal_of(decision)
    return render_template(
        "moderation/decision.html", decision=decision, item=item,
        refusal=str(refusal) if refusal is not None else None, may_appeal=refusal is None,
        form=form or AppealForm(formdata=None), final_decision=final, back=_back_to(item) if item else None,
    ), status


@bp.route("/decisions/<int:decision_id>")
@login_required
def decision(decision_id: int):
    return _decision_page(_decision_or_404(decision_id))


@bp.route("/decisions/<int:decision_id>/appeal", methods=["GET", "POST"])
@login_required
def appeal(decision_id: int):
    found = _decision_or_404(decision_id)
    form = AppealForm()
    if form.validate_on_submit():
        ok, _ = attempt(lambda: appeals.file_appeal(found, current_user, form.statement.data, now=now_utc()), form)
        if ok:
            flash("Your appeal is in. A different moderator will look at the decision again and tell you what they "
                  "decide; that decision is final.", "success")
            return redirect(url_for("moderation.decision", decision_id=found.id))
        return _decision_page(found, form, 422)
    return _decision_page(found, form, form_status(form))


# -- the moderators' queue ------------------------------------------------------------------------


@bp.route("/moderation")
@moderators_only
def queue():
    return render_template(
        "moderation/queue.html", groups=moderation_queue.open_groups(current_user),
        appeals=moderation_queue.open_appeals(current_user), other_work=moderation_queue.other_work(current_user),
    )


def _case_page(item: moderated_items.Item, form: DecisionForm | None = None, status: int = 200):
    found = moderation_queue.case(item, current_user)
    if form is None:
        form = DecisionForm(formdata=None).for_item(item.kind, moderated_items.outcomes_for(item))
        form.rule.data = found.default_rule
    return render_template("moderation/case.html", case=found, item=item, form=form), status


@bp.route("/moderation/cases/<kind>/<int:item_id>", methods=["GET", "POST"])
@moderators_only
def case(kind: str, item_id: int):
    item = moderated_items.load(kind, item_id) or abort(404)
    if request.method == "GET":
        return _case_page(item)
    form = DecisionForm().for_item(item.kind, moderated_items.outcomes_for(item))
    if form.validate_on_submit():
        ok, _ = attempt(lambda: decisions.decide(item, current_user, outcome=form.outcome.data,
                                                    rule=form.rule.data, facts=form.facts.data, now=now_utc()), form)
        if ok:
            flash("Decided. The statement of reasons is on its way to the people concerned.", "success")
            return redirect(url_for("moderation.queue"))
    # The item may have changed in the failed attempt's transaction: read it again.
    return _case_page(moderated_items.load(kind, item_id) or abort(404), form, 422)


def _appeal_page(appeal_row: Appeal, form: AppealDecisionForm | None = None, status: int = 200):
    entry = moderation_queue.appeal_entry(appeal_row, current_user)
    item = entry.item
    if form is None:
        form = AppealDecisionForm(formdata=None).for_item(item.kind, moderated_items.outcomes_for(item))
        form.rule.data = appeal_row.decision.rule.value
    return render_template("moderation/appeal_case.html", entry=entry, appeal=appeal_row, item=item,
                           case=moderation_queue.case(item, current_user), form=form), status


@bp.route("/moderation/appeals/<int:appeal_id>", methods=["GET", "POST"])
@moderators_only
def appeal_case(appeal_id: int):
    found = db.session.get(Appeal, appeal_id) or abort(404)
    if request.method == "GET":
        return _appeal_page(found)
    item = moderated_items.load_key(found.decision.target_key) or abort(404)
    form = AppealDecisionForm().for_item(item.kind, moderated_items.outcomes_for(item))
    if form.validate_on_submit():
        ok, _ = attempt(lambda: appeals.decide_appeal(
            found, current_user, overturn=form.verdict.data == "overturn", facts=form.facts.data, now=now_utc(),
            outcome=form.outcome.data or None, rule=form.rule.data or None), form)
        if ok:
            flash("The appeal is decided. The people concerned are told; the decision is final.", "success")
            return redirect(url_for("moderation.queue"))
    return _appeal_page(db.session.get(Appeal, appeal_id), form, 422)


@bp.route("/moderation/log")
@moderators_only
def log():
    return render_template("moderation/log.html", events=moderation.recent_log(), rules=RULES)


# -- public pages -----------------------------------------------------------------------------------


@bp.route("/rules")
def rules():
    return render_template("moderation/rules.html", rules=RULES.values())


@bp.route("/transparency", endpoint="transparency")
def transparency_report():
    now = now_utc()
    try:
        month = transparency.Month.parse(request.args["month"]) if "month" in request.args else \
            transparency.Month.of(now)
    except DomainError as error:
        return render_template("errors/error.html", code=400, title="Not a month", message=str(error)), 400
    return render_template("moderation/transparency.html", report=transparency.month_report(month),
                           months=transparency.months(now=now))
