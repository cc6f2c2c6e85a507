from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..web.htmx import safe_next_url
from . import bp, services
from .forms import ApiTokenForm, EmptyForm, LanguageForm, LoginForm, PasswordChangeForm


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(safe_next_url(request.args.get("next")) or url_for("main.dashboard"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next_url(request.args.get("next")) or ""
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_template("auth/login.html", form=form), status

    cfg = current_app.config
    result = services.authenticate(
        form.email.data,
        form.password.data,
        request.remote_addr or "",
        max_failures=cfg["LOGIN_MAX_FAILURES"],
        window_seconds=cfg["LOGIN_FAILURE_WINDOW_SECONDS"],
    )
    if result.user is None:
        # One message for a wrong e-mail, a wrong password and a locked account alike.
        message = _("Wrong e-mail or password.")
        status = 401
        if result.throttled:
            message = _("Too many failed attempts. Wait a few minutes and try again.")
            status = 429
        form.password.data = ""
        return render_template("auth/login.html", form=form, login_error=message), status

    session.clear()  # a fresh session: nothing from before sign-in carries over
    services.start_session(result.user, request.user_agent.string)
    login_user(result.user, remember=form.remember.data)
    return redirect(safe_next_url(form.next.data) or url_for("main.dashboard"))


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        services.end_session(current_user.session_token)
    # Clear first: logout_user() leaves a note in the session telling Flask-Login to
    # delete the remember-me cookie, and clearing afterwards would throw it away.
    session.clear()
    logout_user()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


def _profile_page(status=200, **forms):
    forms.setdefault("password_form", PasswordChangeForm(prefix="pw"))
    forms.setdefault("token_form", ApiTokenForm(prefix="tok"))
    forms.setdefault("language_form", LanguageForm(lang=current_user.locale))
    return (
        render_template(
            "auth/profile.html",
            tokens=services.list_api_tokens(current_user),
            revoke_form=EmptyForm(),
            **forms,
        ),
        status,
    )


@bp.route("/profile")
@login_required
def profile():
    return _profile_page()


@bp.route("/profile/password", methods=["POST"])
@login_required
def change_password():
    form = PasswordChangeForm(prefix="pw")
    if form.validate_on_submit():
        try:
            services.change_password(
                current_user,
                form.current_password.data,
                form.new_password.data,
                form.confirm_password.data,
                min_length=current_app.config["PASSWORD_MIN_LENGTH"],
            )
        except services.AccountError as error:
            getattr(form, error.field or "new_password").errors.append(error.message)
        else:
            flash(_("Your password has been changed. Other sessions were signed out."), "success")
            return redirect(url_for("auth.profile"))
    return _profile_page(422, password_form=form)


@bp.route("/profile/tokens", methods=["POST"])
@login_required
def create_token():
    form = ApiTokenForm(prefix="tok")
    if not form.validate_on_submit():
        return _profile_page(422, token_form=form)
    token, secret = services.create_api_token(current_user, form.name.data)
    # Shown once, now; only its hash is stored.
    return _profile_page(201, new_token=secret, new_token_name=token.name)


@bp.route("/profile/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int):
    form = EmptyForm()
    if not form.validate_on_submit():
        return _profile_page(400)
    if services.revoke_api_token(current_user, token_id):
        flash(_("The token has been revoked."), "success")
    else:
        flash(_("No such token."), "error")
    return redirect(url_for("auth.profile"))


@bp.route("/language", methods=["POST"])
def set_language():
    form = LanguageForm()
    target = safe_next_url(form.next.data) or safe_next_url(request.args.get("next"))
    if form.validate_on_submit():
        if current_user.is_authenticated:
            services.set_locale(current_user, form.lang.data)
        else:
            session["lang"] = form.lang.data
    return redirect(target or url_for("main.dashboard"), code=303)
