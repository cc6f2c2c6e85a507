from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length, Optional

from .services import KIND_LABELS, STATUS_LABELS


def kind_choices():
    return [SelectChoice(value, label) for value, label in KIND_LABELS.items()]


def status_choices():
    return [SelectChoice(value, label) for value, label in STATUS_LABELS.items()]


class ToolForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=kind_choices)
    title = StringField(_l("Title"))
    summary = TextAreaField(_l("Summary"), validators=[Optional(), Length(max=500)])
    body = TextAreaField(_l("Text (Markdown)"))
    tags = StringField(_l("Tags"), description=_l("Comma-separated, e.g. дорого, лпр, сервис"))
    segments = StringField(
        _l("Client segments"), description=_l("Comma-separated, e.g. Производство, Ритейл")
    )
    status = SelectField(_l("Status"), choices=status_choices)
    review_by = DateField(_l("Review by"), validators=[Optional()])
    change_note = TextAreaField(
        _l("What changed and why"), validators=[Optional(), Length(max=1000)]
    )
    base_version = HiddenField()


class UploadForm(FlaskForm):
    file = FileField(_l("File"), validators=[FileRequired(_l("Choose a file to upload."))])


class SynonymsForm(FlaskForm):
    groups = TextAreaField(
        _l("Synonym groups"),
        description=_l(
            "One group per line, words separated by commas: кп, коммерческое предложение"
        ),
    )


class VersionPickForm(FlaskForm):
    class Meta:
        csrf = False

    a = IntegerField(validators=[Optional()])
    b = IntegerField(validators=[Optional()])
