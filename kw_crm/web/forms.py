"""Flask-WTF forms of the contact pages (CSRF included); choices are filled per request."""
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from marshmallow import ValidationError as SchemaError
from marshmallow.validate import Email as SchemaEmail
from wtforms import BooleanField, DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from ..inputs import parse_id, text_problem
from ..models import ACTIVITY_TYPES, CONTACT_STATUSES, CONTACT_TYPES
from ..services.activities import NOTE_MAX, SUBJECT_MAX

try:  # WTForms >= 3.3 wants SelectChoice objects (tuples are deprecated there)
    from wtforms import SelectChoice as _Choice
except ImportError:  # pragma: no cover - older WTForms
    def _Choice(value, label):
        return (value, label)


def choices(pairs) -> list:
    return [_Choice(value, label) for value, label in pairs]


TYPE_LABELS = {"customer": "Customer", "contractor": "Contractor", "vendor": "Vendor",
               "partner": "Partner", "other": "Other"}  # icons: web/icons.py CONTACT_TYPE_ICONS


def no_control_chars(_form, field):
    problem = text_problem(field.data, multiline=True) if isinstance(field.data, str) else None
    if problem:
        raise ValidationError(problem)


def valid_email(_form, field):
    """The same email rule as the API (marshmallow's), so pages and API agree."""
    try:
        SchemaEmail()(field.data)
    except SchemaError as exc:
        raise ValidationError("Not a valid email address.") from exc


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _optional_int(value):
    if value in (None, "", "None"):
        return None
    parsed = parse_id(value) if isinstance(value, str) else value
    if parsed is None:
        raise ValueError("Not a valid choice.")  # WTForms reports it beside the field
    return parsed


class ContactForm(FlaskForm):
    first_name = StringField("First name", filters=[_strip], validators=[InputRequired(), Length(max=100), no_control_chars])
    last_name = StringField("Last name", filters=[_strip], validators=[InputRequired(), Length(max=100), no_control_chars])
    email = StringField("Email", filters=[_strip], validators=[Optional(), Length(max=255), valid_email])
    phone = StringField("Phone", filters=[_strip], validators=[Optional(), Length(max=50), no_control_chars])
    job_title = StringField("Job title", filters=[_strip], validators=[Optional(), Length(max=150), no_control_chars])
    customer_id = SelectField("Customer (company)", coerce=_optional_int, validate_choice=True)
    company = StringField("Company (free text)", filters=[_strip],
                          validators=[Optional(), Length(max=200), no_control_chars],
                          description="Typing a new company name creates the matching customer.")
    type = SelectField("Type", choices=choices((t, TYPE_LABELS[t]) for t in CONTACT_TYPES), default="customer")
    status = SelectField("Status", choices=choices((s, s.title()) for s in CONTACT_STATUSES), default="lead")
    owner_id = SelectField("Owner", coerce=_optional_int)
    vendor_user_id = SelectField("VENDOR login (contractor/vendor only)", coerce=_optional_int)
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=NOTE_MAX), no_control_chars])
    is_decision_maker = BooleanField("Decision maker")

    def fill_choices(self, customers, users, vendor_users) -> None:
        self.customer_id.choices = choices([(None, "— none / type below —")] + [(c.id, c.name) for c in customers])
        self.owner_id.choices = choices((u.id, u.name or u.email) for u in users)
        self.vendor_user_id.choices = choices([(None, "— not linked —")] + [(u.id, u.name or u.email) for u in vendor_users])

    def values(self) -> dict:
        data = {name: getattr(self, name).data for name in (
            "first_name", "last_name", "email", "phone", "job_title", "type", "status", "owner_id",
            "vendor_user_id", "notes", "is_decision_maker")}
        data["email"] = data["email"] or None
        if self.customer_id.data is not None:
            data["customer_id"] = self.customer_id.data
            if self.company.data:
                data["company"] = self.company.data
        else:
            data["company"] = self.company.data or ""
            data["customer_id"] = None
        return data

    def show_errors(self, fields: dict) -> None:
        """Put a service's per-field messages beside the matching inputs."""
        for name, messages in (fields or {}).items():
            target = getattr(self, name, None)
            if target is None:
                target = self.first_name
            target.errors = list(target.errors or []) + list(messages)


class NoteForm(FlaskForm):
    body = TextAreaField("Note", validators=[InputRequired(), Length(max=NOTE_MAX), no_control_chars])


class ActivityForm(FlaskForm):
    type = SelectField("Type", choices=choices((t, t.title()) for t in ACTIVITY_TYPES), default="call")
    subject = StringField("Subject", filters=[_strip],
                          validators=[InputRequired(), Length(max=SUBJECT_MAX), no_control_chars])
    due_date = DateField("Due date", validators=[Optional()])


class AttachmentForm(FlaskForm):
    file = FileField("File", validators=[FileRequired("Choose a file to upload.")])


class ConfirmForm(FlaskForm):
    """A bare CSRF-protected POST (delete buttons, complete buttons)."""

    next = HiddenField()
