# The app image: web (granian, WSGI), worker and beat all run from it.
FROM python:3.12-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VAR_DIR=/app/var

WORKDIR /app
RUN useradd --create-home --uid 1000 app

COPY requirements/lock.txt requirements/lock.txt
RUN pip install --no-cache-dir --require-hashes -r requirements/lock.txt

COPY . .
# collectstatic needs no database; a throwaway key is enough at build time. STATIC_MANIFEST=1:
# write hashed, compressed files and their manifest (without it, the storage is chosen before
# the manifest exists, so plain files). Every process of the image then serves those, with
# far-future cache headers.
RUN SECRET_KEY=build-only-not-secret DEBUG=0 STATIC_MANIFEST=1 python manage.py collectstatic --noinput \
    && mkdir -p /app/var && chown -R app:app /app/var

USER app
EXPOSE 8000
CMD ["granian", "--interface", "wsgi", "--host", "0.0.0.0", "--port", "8000", "--workers", "2", "--blocking-threads", "2", "--no-ws", "--workers-lifetime", "6h", "--respawn-failed-workers", "--access-log", "pypistats_site.wsgi:application"]
