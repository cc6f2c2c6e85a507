from flask import jsonify, render_template
from flask_login import current_user, login_required

from . import bp, services


@bp.route("/")
@login_required
def dashboard():
    return render_template(
        "main/dashboard.html",
        teams=services.dashboard_teams(current_user),
        kb=services.knowledge_base_summary(current_user),
    )


@bp.route("/healthz")
def healthz():
    if services.database_answers():
        return jsonify(status="ok")
    return jsonify(status="unavailable", detail="database"), 503
