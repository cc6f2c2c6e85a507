from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
)
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


# WTForms 3.3 deprecates (value, label) tuples as choices; 3.4 removes them.
LANGUAGE_CHOICES = [SelectChoice("ru", "Русский"), SelectChoice("en", "English")]


class LanguageForm(FlaskForm):
    lang = SelectField(_l("Language"), choices=LANGUAGE_CHOICES)
    next = HiddenField()


class ApiTokenForm(FlaskForm):
    name = StringField(_l("What the token is for"), validators=[Length(max=80)])


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for buttons that change something."""
