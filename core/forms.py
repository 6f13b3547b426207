"""What every page's form shares: showing a service's refusal on the fields it names, durations chosen
in hours and minutes, and the "why" of a configuration change."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import format_html

from .config_changes import REASON_LIMIT
from .errors import DomainError


def change_reason_field() -> forms.CharField:
    """"Why" of a change of versioned configuration (a policy, its stages, a connector mapping, an alert's
    settings): required; the version history and the audit log record it (`core.config_changes`)."""
    return forms.CharField(label="Why", max_length=REASON_LIMIT, widget=forms.Textarea(attrs={"rows": 2}),
                           help_text="Recorded with the change: the version history and the audit log show it.",
                           error_messages={"required": "Say why you make this change: the version history and the "
                                                       "audit log record it."})


class ChangeReasonForm(forms.Form):
    """The "why" alone, for a page whose change is a formset or a button."""

    reason = change_reason_field()


def form_add_domain_error(form: forms.Form, error: DomainError) -> None:
    """Every (field, message) of a refusal on the form: on the field it names when the form has one,
    else at the top. A field that already shows an error keeps it (the same mistake said twice helps
    nobody)."""
    for name, message in error.field_errors():
        field = name if name in form.fields else None
        if field is not None and field in form.errors:
            continue
        form.add_error(field, message)


def minutes_label(minutes: int) -> str:
    """90 → "1 h 30 min", 480 → "8 h", 45 → "45 min"."""
    hours, rest = divmod(int(minutes), 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    return f"{hours} h" if hours else f"{rest} min"


class HoursMinutesWidget(forms.MultiWidget):
    """Two number inputs, hours and minutes. A plain `<name>=<minutes>` (an older form, a script) is
    still understood."""

    def __init__(self, attrs=None):
        hours = forms.NumberInput(attrs={"min": 0, "max": 999, "step": 1, "inputmode": "numeric",
                                         "class": "duration-hours"})
        minutes = forms.NumberInput(attrs={"min": 0, "max": 59, "step": 5, "inputmode": "numeric",
                                           "class": "duration-minutes"})
        super().__init__([hours, minutes], attrs)
        self.widgets_names = ["_hours", "_minutes"]

    def decompress(self, value):
        if value in (None, ""):
            return [None, None]
        try:
            return list(divmod(int(value), 60))
        except (TypeError, ValueError):
            return [None, None]

    def render(self, name, value, attrs=None, renderer=None):
        """`<hours> h <minutes> min`, each input with its own (visually terse) label."""
        attrs = dict(attrs or {})
        base_id = attrs.pop("id", None) or f"id_{name}"
        hours, minutes = value if isinstance(value, list | tuple) else self.decompress(value)
        parts = []
        for widget, suffix, part_value, word, label in (
            (self.widgets[0], "_hours", hours, "h", "hours"),
            (self.widgets[1], "_minutes", minutes, "min", "minutes"),
        ):
            part_id = f"{base_id}{suffix}"
            html = widget.render(f"{name}{suffix}", part_value, {**attrs, "id": part_id}, renderer)
            parts.append(format_html('<span class="duration-part">{}<label class="inline" for="{}">{}'
                                     '<span class="visually-hidden"> ({})</span></label></span>',
                                     html, part_id, word, label))
        return format_html('<span class="duration" role="group" id="{}">{} {}</span>', base_id, *parts)

    def id_for_label(self, id_):
        return f"{id_}_hours" if id_ else id_

    def value_from_datadict(self, data, files, name):
        if name in data and f"{name}_hours" not in data and f"{name}_minutes" not in data:
            return data.get(name)
        return super().value_from_datadict(data, files, name)

    def value_omitted_from_data(self, data, files, name):
        return name not in data and super().value_omitted_from_data(data, files, name)


class HoursMinutesField(forms.Field):
    """A duration in whole minutes, typed as hours and minutes; `max_minutes` is shown and enforced."""

    widget = HoursMinutesWidget
    default_error_messages = {
        "invalid": "Enter whole hours and minutes (0–59).",
        "min": "Choose at least %(limit)s.",
        "max": "At most %(limit)s.",
    }

    def __init__(self, *, min_minutes: int | None = None, max_minutes: int | None = None, **kwargs):
        self.min_minutes, self.max_minutes = min_minutes, max_minutes
        super().__init__(**kwargs)

    def to_python(self, value):
        if isinstance(value, list | tuple):
            hours, minutes = (str(v).strip() if v is not None else "" for v in value)
            if not hours and not minutes:
                return None
            try:
                hours_n, minutes_n = int(hours or 0), int(minutes or 0)
            except ValueError:
                raise ValidationError(self.error_messages["invalid"], code="invalid")
            if hours_n < 0 or not 0 <= minutes_n <= 59 or hours_n > 10_000:
                raise ValidationError(self.error_messages["invalid"], code="invalid")
            return hours_n * 60 + minutes_n
        if value in (None, ""):
            return None
        try:
            total = int(str(value).strip())
        except ValueError:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        if not 0 <= total <= 600_000:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return total

    def validate(self, value):
        super().validate(value)
        if value is None:
            return
        if self.min_minutes is not None and value < self.min_minutes:
            raise ValidationError(self.error_messages["min"], code="min",
                                  params={"limit": minutes_label(self.min_minutes)})
        if self.max_minutes is not None and value > self.max_minutes:
            raise ValidationError(self.error_messages["max"], code="max",
                                  params={"limit": minutes_label(self.max_minutes)})
