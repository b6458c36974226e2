from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pypistats_site.settings")

# Django's WSGI handler behind the JSON API's fast path (packages_app/api/fastpath.py),
# which answers GET/HEAD /api/packages/<name>/<endpoint> for held packages and hands
# every other request to Django.
_django = get_wsgi_application()

from packages_app.api.fastpath import wrap  # noqa: E402  (needs the settings and apps loaded)

application = wrap(_django)
