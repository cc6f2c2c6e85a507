"""Background jobs: long imports and exports with progress, outside the request."""

from flask import Blueprint

bp = Blueprint("jobs", __name__)

from ..deals import import_job  # noqa: E402,F401  (registers the "deal_import" handler)
from ..reports import export_job  # noqa: E402,F401  (registers the "report_export" handler)
from . import runner, views  # noqa: E402,F401
