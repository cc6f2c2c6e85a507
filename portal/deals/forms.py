from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    DecimalField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from .services import DEAL_STATUS_LABELS, REACTION_LABELS


def plausible_moment(form, field) -> None:
    """A deal's dates lie between 2000 and 2100: year 1 or 9999 overflows time zones."""
    if field.data is not None and not 2000 <= field.data.year <= 2100:
        raise ValidationError(_l("Give a date between 2000 and 2100."))


def status_choices():
    return [SelectChoice(k, v) for k, v in DEAL_STATUS_LABELS.items()]


def reaction_choices():
    return [SelectChoice(k, v) for k, v in REACTION_LABELS.items()]


class DealForm(FlaskForm):
    title = StringField(_l("Deal"), validators=[Length(max=300)])
    client = StringField(_l("Client"), validators=[Length(max=300)])
    segment = StringField(_l("Segment"), validators=[Length(max=80)])
    manager_id = SelectField(_l("Manager"), coerce=int)
    amount = DecimalField(_l("Amount, ₽"), validators=[Optional(), NumberRange(min=0)], places=2)
    stage = StringField(_l("Stage"), validators=[Length(max=120)])
    status = SelectField(_l("Status"), choices=status_choices)
    closed_at = DateTimeLocalField(
        _l("Closed at"), validators=[Optional(), plausible_moment], format="%Y-%m-%dT%H:%M"
    )
    external_id = StringField(_l("CRM ID"), validators=[Length(max=64)])


class ProposalSendForm(FlaskForm):
    tool_id = SelectField(_l("Proposal (КП/ТКП)"), coerce=int)
    version = IntegerField(_l("Version"), validators=[Optional(), NumberRange(min=1)])
    sent_at = DateTimeLocalField(
        _l("Sent at"), validators=[plausible_moment], format="%Y-%m-%dT%H:%M"
    )
    reaction = SelectField(_l("Client's reaction"), choices=reaction_choices)


class ReactionForm(FlaskForm):
    reaction = SelectField(_l("Client's reaction"), choices=reaction_choices)
    reacted_at = DateTimeLocalField(
        _l("When"), validators=[Optional(), plausible_moment], format="%Y-%m-%dT%H:%M"
    )


class ImportUploadForm(FlaskForm):
    file = FileField(_l("CRM export (CSV, XLSX or Bitrix24 .xls)"), validators=[FileRequired()])
    format = SelectField(
        _l("Format"),
        choices=[
            SelectChoice("auto", _l("Detect automatically")),
            SelectChoice("amocrm", "amoCRM"),
            SelectChoice("bitrix24", "Bitrix24"),
            SelectChoice("generic", _l("Planerka columns")),
        ],
    )


class ImportConfirmForm(FlaskForm):
    token = HiddenField()
    format = HiddenField()
    segment_column = StringField(_l("Segment from column"), validators=[Length(max=120)])
    skip_errors = BooleanField(_l("Import valid rows and skip rows with errors"))


class StageMapForm(FlaskForm):
    mapping = TextAreaField(
        _l("Stage mapping"),
        description=_l("One per line: Stage name = open, won or lost"),
    )


class SegmentRulesForm(FlaskForm):
    rules = TextAreaField(
        _l("Segment rules"),
        description=_l(
            "One per line: tag or cell value = Segment, e.g. Пищевое производство = Производство"
        ),
    )
