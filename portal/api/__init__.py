from flask import Blueprint

bp = Blueprint("api", __name__)

from . import auth, deals, jobs, meetings, reports, tools, views  # noqa: E402,F401
