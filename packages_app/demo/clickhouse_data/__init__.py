"""The ClickHouse stand-in's data: ClickPy's schema (schema.py), what a demo package holds
per day (model.py, derived from packages_app.demo.data), how each day is split into every
view (build.py) and the process's chdb engine that holds it (engine.py). The HTTP side is
packages_app/demo/clickhouse.py.
"""

from __future__ import annotations
