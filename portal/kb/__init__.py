from flask import Blueprint

bp = Blueprint("kb", __name__)

from . import views  # noqa: E402,F401
