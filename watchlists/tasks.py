"""Celery tasks of accounts: thin wrappers, JSON-safe arguments."""

from __future__ import annotations

from celery import shared_task

from watchlists import services


@shared_task(name="watchlists.tasks.send_password_reset", ignore_result=True)
def send_password_reset(email: str, domain: str, use_https: bool) -> None:
    """The password-reset email, looked up and sent here rather than in the request, so that
    the request takes the same path whether the address has an account or not."""
    services.password_reset_send(email=email, domain=domain, use_https=use_https)
