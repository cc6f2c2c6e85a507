from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from wtforms import SelectChoice

from ..auth import services as accounts
from ..auth.forms import EmptyForm
from ..web.access import require
from ..web.htmx import render_page_or_fragment
from . import bp, services
from .forms import TeamForm, UserForm


@bp.route("/users")
@require("users.manage")
def users():
    query = request.args.get("q", "").strip()[:100]
    role = request.args.get("role", "")
    show_inactive = request.args.get("inactive") == "1"
    return render_page_or_fragment(
        "admin/users.html",
        "admin/_user_rows.html",
        "user-rows",
        users=services.list_users(query, role, show_inactive=show_inactive),
        q=query,
        role=role,
        show_inactive=show_inactive,
        action_form=EmptyForm(),
    )


def _user_form(user=None) -> UserForm:
    form = UserForm(obj=user) if user else UserForm()
    form.team_id.choices = [SelectChoice(value, label) for value, label in services.team_choices()]
    if user and request.method == "GET":
        form.team_id.data = user.team_id or 0
        form.password.data = ""
    return form


@bp.route("/users/new", methods=["GET", "POST"])
@require("users.manage")
def new_user():
    form = _user_form()
    if form.validate_on_submit():
        try:
            user = accounts.create_user(
                form.email.data,
                form.name.data,
                form.role.data,
                form.password.data or "",
                team=services.get_team(form.team_id.data),
                locale=form.locale.data,
                min_password_length=current_app.config["PASSWORD_MIN_LENGTH"],
            )
        except accounts.AccountError as error:
            getattr(form, error.field or "email").errors.append(error.message)
        else:
            flash(_("User %(name)s created.", name=user.name), "success")
            return redirect(url_for("admin.users"))
    status = 422 if request.method == "POST" else 200
    return render_template("admin/user_form.html", form=form, user=None), status


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@require("users.manage")
def edit_user(user_id: int):
    user = services.get_user(user_id) or abort(404)
    form = _user_form(user)
    if form.validate_on_submit():
        try:
            accounts.update_user(
                user,
                email=form.email.data,
                name=form.name.data,
                role=form.role.data,
                team=services.get_team(form.team_id.data),
                locale=form.locale.data,
                new_password=form.password.data or None,
                min_password_length=current_app.config["PASSWORD_MIN_LENGTH"],
            )
        except accounts.AccountError as error:
            getattr(form, error.field or "email").errors.append(error.message)
        else:
            flash(_("Changes to %(name)s saved.", name=user.name), "success")
            return redirect(url_for("admin.users"))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "admin/user_form.html", form=form, user=user, action_form=EmptyForm()
    ), status


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
@require("users.manage")
def deactivate_user(user_id: int):
    return _set_active(user_id, False)


@bp.route("/users/<int:user_id>/activate", methods=["POST"])
@require("users.manage")
def activate_user(user_id: int):
    return _set_active(user_id, True)


def _set_active(user_id: int, active: bool):
    from flask_login import current_user

    user = services.get_user(user_id) or abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    if user.id == current_user.id and not active:
        flash(_("You cannot deactivate yourself."), "error")
        return redirect(url_for("admin.edit_user", user_id=user.id), code=303)
    accounts.set_user_active(user, active)
    if active:
        flash(_("%(name)s can sign in again.", name=user.name), "success")
    else:
        flash(_("%(name)s is deactivated and signed out everywhere.", name=user.name), "success")
    return redirect(url_for("admin.users"), code=303)


@bp.route("/teams", methods=["GET", "POST"])
@require("teams.manage")
def teams():
    form = TeamForm()
    if form.validate_on_submit():
        try:
            team = accounts.create_team(form.name.data)
        except accounts.AccountError as error:
            form.name.errors.append(error.message)
        else:
            flash(_("Team %(name)s created.", name=team.name), "success")
            return redirect(url_for("admin.teams"), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("admin/teams.html", form=form, teams=services.list_teams()), status


@bp.route("/teams/<int:team_id>", methods=["GET", "POST"])
@require("teams.manage")
def edit_team(team_id: int):
    team = services.get_team(team_id) or abort(404)
    form = TeamForm(obj=team)
    if form.validate_on_submit():
        try:
            accounts.update_team(team, form.name.data, form.is_active.data)
        except accounts.AccountError as error:
            form.name.errors.append(error.message)
        else:
            flash(_("Team %(name)s saved.", name=team.name), "success")
            return redirect(url_for("admin.teams"), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("admin/team_form.html", form=form, team=team), status
