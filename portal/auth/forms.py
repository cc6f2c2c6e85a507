from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    email = StringField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    remember = BooleanField(_l("Remember me on this computer"))
    next = HiddenField()


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    new_password = PasswordField(_l("New password"), validators=[DataRequired()])
    confirm_password = PasswordField(_l("New password again"), validators=[DataRequired()])


class LanguageForm(FlaskForm):
    lang = SelectField(_l("Language"), choices=[("ru", "Русский"), ("en", "English")])
    next = HiddenField()


class ApiTokenForm(FlaskForm):
    name = StringField(_l("What the token is for"), validators=[Length(max=80)])


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for buttons that change something."""
