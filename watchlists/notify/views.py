"""Digest subscriptions, alert and webhook settings, the delivery log, and unsubscribe links.

Views: sign-in gate -> access helper (404 for outsiders, 403 for a member who may not)
-> form -> service -> redirect. The unsubscribe link needs no sign-in: its signed token
is the credential (see digests.unsubscribe_token).
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from packages_app.http import AuthenticatedHttpRequest, HtmxHttpRequest, login_required
from watchlists import access
from watchlists.access import WatchlistAccess
from watchlists.notify import digests
from watchlists.notify import selectors as notify_selectors
from watchlists.notify import services as notify_services
from watchlists.notify.forms import AlertRuleForm, DeleteForm, SubscriptionForm, WebhookForm
from watchlists.notify.models import DigestSubscription

ALERTS = "watchlists/alerts.html"


@login_required
@require_POST
def digest_subscription(request: AuthenticatedHttpRequest, uid: uuid.UUID) -> HttpResponse:
    """Anyone who can see the list may subscribe themselves (and only themselves)."""
    acc = access.get_watchlist_for_viewer(request, uid)
    form = SubscriptionForm(request.POST)
    if not form.is_valid():
        return HttpResponse("Bad request: action must be subscribe or unsubscribe.", status=400)
    subscribe = form.cleaned_data["action"] == "subscribe"
    notify_services.subscription_set(
        watchlist=acc.watchlist, user=request.user, subscribed=subscribe
    )
    if subscribe:
        messages.success(request, "You will get this list's digest every Monday.")
    else:
        messages.success(request, "You will no longer get this list's digest.")
    return redirect("watchlist_detail", uid=acc.watchlist.uid)


def _alerts_page(
    request: HtmxHttpRequest,
    acc: WatchlistAccess,
    *,
    rule_form: AlertRuleForm | None = None,
    webhook_form: WebhookForm | None = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        ALERTS,
        {
            "watchlist": acc.watchlist,
            "access": acc,
            "rules": notify_selectors.alert_rules(acc.watchlist),
            "hooks": notify_selectors.webhooks_of(acc.watchlist),
            "rule_form": rule_form or AlertRuleForm(),
            "webhook_form": webhook_form or WebhookForm(),
            "recent": notify_selectors.recent_alerts(acc.watchlist),
        },
        status=status,
    )


@login_required
@require_GET
def alert_settings(request: AuthenticatedHttpRequest, uid: uuid.UUID) -> HttpResponse:
    return _alerts_page(request, access.get_watchlist_for_editor(request, uid))


@login_required
@require_POST
def alert_rule_add(request: AuthenticatedHttpRequest, uid: uuid.UUID) -> HttpResponse:
    acc = access.get_watchlist_for_editor(request, uid)
    form = AlertRuleForm(request.POST)
    if not form.is_valid():
        return _alerts_page(request, acc, rule_form=form, status=400)
    notify_services.alert_rule_create(
        watchlist=acc.watchlist,
        kind=form.cleaned_data["kind"],
        threshold=form.cleaned_data["threshold"] or 0,
        email=form.cleaned_data["email"],
        user=request.user,
    )
    messages.success(request, "Alert added.")
    return redirect("alert_settings", uid=acc.watchlist.uid)


def _delete(request: HtmxHttpRequest, uid: uuid.UUID, what: str) -> HttpResponse:
    acc = access.get_watchlist_for_editor(request, uid)
    form = DeleteForm(request.POST)
    if not form.is_valid():
        return HttpResponse("Bad request: id is required.", status=400)
    pk = form.cleaned_data["id"]
    if what == "rule":
        rule = acc.watchlist.alert_rules.filter(pk=pk).first()
        if rule is None:
            return HttpResponse("No such alert on this watchlist.", status=404)
        notify_services.alert_rule_delete(rule=rule)
        messages.success(request, "Alert removed.")
    else:
        hook = acc.watchlist.webhooks.filter(pk=pk).first()
        if hook is None:
            return HttpResponse("No such webhook on this watchlist.", status=404)
        notify_services.webhook_delete(webhook=hook)
        messages.success(request, "Webhook removed.")
    return redirect("alert_settings", uid=acc.watchlist.uid)


@login_required
@require_POST
def alert_rule_delete(request: AuthenticatedHttpRequest, uid: uuid.UUID) -> HttpResponse:
    return _delete(request, uid, "rule")


@login_required
@require_POST
def webhook_add(request: AuthenticatedHttpRequest, uid: uuid.UUID) -> HttpResponse:
    acc = access.get_watchlist_for_editor(request, uid)
    form = WebhookForm(request.POST)
    if not form.is_valid():
        return _alerts_page(request, acc, webhook_form=form, status=400)
    notify_services.webhook_create(
        watchlist=acc.watchlist,
        url=form.cleaned_data["url"],
        fmt=form.cleaned_data["format"],
        user=request.user,
    )
    messages.success(request, "Webhook added. Use its secret to verify the signatures.")
    return redirect("alert_settings", uid=acc.watchlist.uid)


@login_required
@require_POST
def webhook_delete(request: AuthenticatedHttpRequest, uid: uuid.UUID) -> HttpResponse:
    return _delete(request, uid, "webhook")


@login_required
@require_GET
def delivery_log(request: AuthenticatedHttpRequest, uid: uuid.UUID) -> HttpResponse:
    """Every digest and alert of the list with every attempt: the list's owner(s) only."""
    acc = access.get_watchlist_for_manager(request, uid)
    return render(
        request,
        "watchlists/deliveries.html",
        {"watchlist": acc.watchlist, "notifications": notify_selectors.delivery_log(acc.watchlist)},
    )


def _subscription_from(token: str) -> DigestSubscription | None:
    subscription_id, user_id = digests.read_unsubscribe_token(token)
    # Both ids come from the signed token: a subscription of anyone else never matches.
    return (
        DigestSubscription.objects.select_related("watchlist")
        .filter(pk=subscription_id, user_id=user_id)
        .first()
    )


# No sign-in and no CSRF token: mail clients POST here for one-click unsubscribe
# (RFC 8058, List-Unsubscribe-Post) without any cookie. The signed token is the
# credential, so a forged cross-site POST cannot name a subscription (docs/decisions.md).
@csrf_exempt
@require_http_methods(["GET", "POST"])
def digest_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscription = _subscription_from(token)
    except signing.BadSignature:
        return render(request, "watchlists/unsubscribe.html", {"invalid": True}, status=400)
    if request.method == "GET":
        # GET never writes: it shows what the button will do.
        context: dict[str, object] = {"subscription": subscription, "token": token}
        return render(request, "watchlists/unsubscribe.html", context)
    done = False
    if subscription is not None:
        subscription_id, user_id = subscription.pk, subscription.user_id
        done = notify_services.subscription_delete(subscription_id=subscription_id, user_id=user_id)
    return render(
        request,
        "watchlists/unsubscribe.html",
        {
            "done": True,
            "removed": done,
            "watchlist_name": subscription.watchlist.name if subscription else "",
        },
    )
