from flask import jsonify, render_template
from flask_login import current_user, login_required

from . import bp, services


@bp.route("/")
@login_required
def dashboard():
    from ..meetings import services as meetings

    open_meetings, _total = meetings.list_meetings(current_user, status="open", per_page=10)
    return render_template(
        "main/dashboard.html",
        teams=services.dashboard_teams(current_user),
        kb=services.knowledge_base_summary(current_user),
        open_meetings=open_meetings,
        my_actions=meetings.open_action_items(current_user, limit=10),
    )


@bp.route("/healthz")
def healthz():
    if services.database_answers():
        return jsonify(status="ok")
    return jsonify(status="unavailable", detail="database"), 503
