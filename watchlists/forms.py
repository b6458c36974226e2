from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm, UserCreationForm
from django.contrib.auth.models import User
from django.http import HttpRequest

from watchlists import columns
from watchlists.models import ListColumn, Team, Visibility
from watchlists.requirements_parser import MAX_INPUT_CHARS


class SignupForm(UserCreationForm[User]):
    # Email is required: it is how a password is reset and where digests go.
    email = forms.EmailField(required=True, help_text="For password resets and digests.")

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"].strip()
        if get_user_model().objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this email already exists.")
        return email


class QueuedPasswordResetForm(PasswordResetForm):
    """Django's reset form, but save() only hands the address to a Celery task, which looks
    it up and sends the mail: the request does the same work, in the same time, whether the
    address has an account or not (no account enumeration by timing)."""

    def save(  # type: ignore[override]  # the view passes everything by keyword
        self,
        domain_override: str | None = None,
        use_https: bool = False,
        request: HttpRequest | None = None,
        **kwargs: Any,
    ) -> None:
        from watchlists.tasks import send_password_reset

        domain = domain_override or (request.get_host() if request is not None else "")
        send_password_reset.delay(self.cleaned_data["email"], domain, use_https)


class EmailChangeForm(forms.Form):
    """A new email address, confirmed by the current password (re-authentication)."""

    email = forms.EmailField(label="New email address")
    password = forms.CharField(
        label="Current password",
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, user: User, *args: Any, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_password(self) -> str:
        password: str = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("That is not your current password.")
        return password

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"].strip()
        taken = (
            get_user_model().objects.filter(email__iexact=email).exclude(pk=self.user.pk).exists()
        )
        if taken:
            raise forms.ValidationError("An account with this email already exists.")
        return email


class TeamForm(forms.Form):
    name = forms.CharField(max_length=100, label="Team name")

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the team a name.")
        return name


class WatchlistForm(forms.Form):
    # The settings page offers the breakdown column; a new list starts without one.
    offers_column = True
    name = forms.CharField(max_length=100, label="Name")
    visibility = forms.ChoiceField(choices=Visibility.choices, initial=Visibility.PRIVATE)

    def __init__(self, *args: Any, team_owned: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.offers_column and columns.offered():
            # A breakdown column needs ClickHouse: without it the field is not offered.
            self.fields["column"] = forms.ChoiceField(
                choices=ListColumn.choices,
                required=False,
                label="Extra column",
                help_text="A breakdown from ClickHouse, over each package's last 7 days.",
            )
        # For a personal list "team" means "private", so only the meaningful two are offered.
        if team_owned:
            choices = [
                (Visibility.TEAM, "Team: every member of the team"),
                (Visibility.PUBLIC, "Public: anyone with the link (read-only)"),
            ]
        else:
            choices = [
                (Visibility.PRIVATE, "Private: only you"),
                (Visibility.PUBLIC, "Public: anyone with the link (read-only)"),
            ]
        field = self.fields["visibility"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices
        if not self.is_bound:
            field.initial = choices[0][0]

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the watchlist a name.")
        return name


class NewWatchlistForm(WatchlistForm):
    """Create a list: owned by me, or by one of my teams (any member may create one)."""

    offers_column = False

    owner = forms.ChoiceField(label="Owner")
    # Optional: a package to start the list with (the package page's "create a watchlist").
    package = forms.CharField(max_length=128, required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, teams: list[Team], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.teams = {str(team.uid): team for team in teams}
        owner = self.fields["owner"]
        assert isinstance(owner, forms.ChoiceField)
        owner.choices = [("me", "Me (a personal list)")] + [
            (uid, f"Team {team.name}") for uid, team in self.teams.items()
        ]
        visibility = self.fields["visibility"]
        assert isinstance(visibility, forms.ChoiceField)
        visibility.choices = [
            (Visibility.PRIVATE, "Private: only you, or only the team's members"),
            (Visibility.PUBLIC, "Public: anyone with the link (read-only)"),
        ]
        self.order_fields(["name", "owner", "visibility", "package"])

    def team(self) -> Team | None:
        return self.teams.get(self.cleaned_data["owner"])


class AddPackageForm(forms.Form):
    name = forms.CharField(max_length=128, label="Package", required=False)
    # A clicked suggestion: it wins over whatever is half-typed in the box.
    pick = forms.CharField(max_length=128, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        name = (data.get("pick") or data.get("name") or "").strip()
        if not name:
            raise forms.ValidationError("Type a package name.")
        data["name"] = name
        return data


class BulkAddForm(forms.Form):
    text = forms.CharField(
        label="requirements.txt or pyproject.toml",
        max_length=MAX_INPUT_CHARS,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        help_text="Paste the file: names are taken, versions, extras, markers, comments and "
        "options (-r, -e, --hash) are ignored.",
    )


class NoteForm(forms.Form):
    name = forms.CharField(max_length=128)
    note = forms.CharField(max_length=500, required=False)


class RemovePackageForm(forms.Form):
    name = forms.CharField(max_length=128)
