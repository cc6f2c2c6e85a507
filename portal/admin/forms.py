from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from ..auth.forms import LANGUAGE_CHOICES

ROLE_CHOICES = [
    SelectChoice("manager", _l("Sales manager")),
    SelectChoice("lead", _l("Team lead")),
    SelectChoice("head", _l("Head of sales")),
    SelectChoice("admin", _l("Administrator")),
]


class UserForm(FlaskForm):
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=120)])
    email = StringField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)
    team_id = SelectField(_l("Team"), coerce=int)
    locale = SelectField(_l("Language"), choices=LANGUAGE_CHOICES)
    password = PasswordField(_l("Password"), validators=[Optional(), Length(max=1024)])


class TeamForm(FlaskForm):
    name = StringField(_l("Team name"), validators=[DataRequired(), Length(max=120)])
    is_active = BooleanField(_l("Active"), default=True)
