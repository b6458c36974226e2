"""Forms for digests, alert rules and webhooks."""

from __future__ import annotations

from typing import Any

from django import forms

from watchlists.notify import webhooks
from watchlists.notify.models import AlertRule, Webhook

# Sensible bounds: a 1000 % change or a year without data are the most anyone needs.
CHANGE_MAX_PCT = 1000
STALE_MAX_DAYS = 365


class SubscriptionForm(forms.Form):
    action = forms.ChoiceField(choices=[("subscribe", "Subscribe"), ("unsubscribe", "Unsubscribe")])


class AlertRuleForm(forms.Form):
    kind = forms.ChoiceField(choices=AlertRule.Kind.choices, label="Alert when")
    threshold = forms.IntegerField(
        required=False,
        min_value=1,
        label="N",
        help_text=f"Percent for a weekly change (1–{CHANGE_MAX_PCT}), days for no new data "
        f"(1–{STALE_MAX_DAYS}); not used for milestones.",
    )
    email = forms.BooleanField(required=False, initial=True, label="Email me too")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        threshold = data.get("threshold")
        if kind == AlertRule.Kind.CHANGE:
            if threshold is None or not 1 <= threshold <= CHANGE_MAX_PCT:
                self.add_error("threshold", f"Give a percentage from 1 to {CHANGE_MAX_PCT}.")
        elif kind == AlertRule.Kind.STALE:
            if threshold is None or not 1 <= threshold <= STALE_MAX_DAYS:
                self.add_error("threshold", f"Give a number of days from 1 to {STALE_MAX_DAYS}.")
        elif kind == AlertRule.Kind.MILESTONE:
            data["threshold"] = 0
        return data


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
