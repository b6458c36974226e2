"""Forms for digests, alert rules and webhooks."""

from __future__ import annotations

from typing import Any

from django import forms

from watchlists.notify import breakdowns, webhooks
from watchlists.notify.models import AlertRule, Webhook

# Sensible bounds: a 1000 % change or a year without data are the most anyone needs.
CHANGE_MAX_PCT = 1000
STALE_MAX_DAYS = 365
# "A new installer passed 10 %" unless the rule says otherwise.
INSTALLER_DEFAULT_PCT = 10


class SubscriptionForm(forms.Form):
    action = forms.ChoiceField(choices=[("subscribe", "Subscribe"), ("unsubscribe", "Unsubscribe")])


class AlertRuleForm(forms.Form):
    """One field per meaning: a percentage for a weekly change, days for "no new data",
    neither for a milestone. Both are stored in AlertRule.threshold, whose meaning the
    rule's kind gives (unchanged: no stored value changes meaning)."""

    kind = forms.ChoiceField(choices=AlertRule.Kind.choices, label="Alert when")
    change_pct = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=CHANGE_MAX_PCT,
        label="Change of at least (%)",
        help_text=f"For a weekly change, up or down: 1 to {CHANGE_MAX_PCT} percent.",
    )
    stale_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=STALE_MAX_DAYS,
        label="Days without new data",
        help_text=f"For “no new data”: 1 to {STALE_MAX_DAYS} days.",
    )
    share_pct = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=100,
        label="Share of the last 7 days (%)",
        help_text=(
            "For the latest release or a new installer: 1 to 100 percent "
            f"(a new installer: {INSTALLER_DEFAULT_PCT} when left empty)."
        ),
    )
    email = forms.BooleanField(required=False, initial=True, label="Email me too")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not breakdowns.offered():
            # The release and installer kinds read ClickHouse: not offered without it.
            field = self.fields["kind"]
            assert isinstance(field, forms.ChoiceField)
            field.choices = [
                (value, label)
                for value, label in AlertRule.Kind.choices
                if value not in (AlertRule.Kind.ADOPTION, AlertRule.Kind.INSTALLER)
            ]
            del self.fields["share_pct"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        # The field the kind needs; the other one is ignored, whatever it holds.
        if kind == AlertRule.Kind.CHANGE:
            data["threshold"] = self._needed(
                data, "change_pct", f"Give a percentage from 1 to {CHANGE_MAX_PCT}."
            )
        elif kind == AlertRule.Kind.STALE:
            data["threshold"] = self._needed(
                data, "stale_days", f"Give a number of days from 1 to {STALE_MAX_DAYS}."
            )
        elif kind == AlertRule.Kind.ADOPTION:
            data["threshold"] = self._needed(data, "share_pct", "Give a percentage from 1 to 100.")
        elif kind == AlertRule.Kind.INSTALLER:
            if data.get("share_pct") is None and "share_pct" not in self.errors:
                data["share_pct"] = INSTALLER_DEFAULT_PCT
            data["threshold"] = self._needed(data, "share_pct", "Give a percentage from 1 to 100.")
        else:
            data["threshold"] = 0
        return data

    def _needed(self, data: dict[str, Any], field: str, message: str) -> int:
        value = data.get(field)
        if value is None and field not in self.errors:
            self.add_error(field, message)
        return int(value or 0)


class WebhookForm(forms.Form):
    url = forms.URLField(
        max_length=500,
        label="Webhook URL",
        assume_scheme="https",
        help_text="http(s) to a public address; redirects are not followed.",
    )
    format = forms.ChoiceField(choices=Webhook.Format.choices, initial=Webhook.Format.GENERIC)

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"]
        try:
            webhooks.resolve_checked(url)
        except webhooks.UnsafeURL as exc:
            raise forms.ValidationError(str(exc)) from None
        return url


class DeleteForm(forms.Form):
    id = forms.IntegerField(min_value=1)
