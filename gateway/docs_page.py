"""`/api/docs`: the API description for people (Redoc, vendored, over the
same OpenAPI document as `/api/v1/openapi.json`)."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, send_from_directory

STATIC = Path(__file__).resolve().parent / "static" / "redoc"

bp = Blueprint("api_docs", __name__)

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Cadena API</title>
</head>
<body>
  <redoc spec-url="/api/v1/openapi.json" hide-download-button="false"></redoc>
  <script src="/api/docs/redoc.standalone.js"></script>
</body>
</html>
"""


@bp.get("/api/docs")
def page():
    return PAGE, 200, {"Content-Type": "text/html; charset=utf-8"}


@bp.get("/api/docs/redoc.standalone.js")
def script():
    return send_from_directory(STATIC, "redoc.standalone.js", max_age=86400)
