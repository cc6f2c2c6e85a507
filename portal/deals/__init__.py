from flask import Blueprint

bp = Blueprint("deals", __name__)

from . import views  # noqa: E402,F401
