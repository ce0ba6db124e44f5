"""The web interface (``tracer web``): FastAPI, server-rendered Jinja2 pages, htmx, DSFR.

- ``app``: :func:`create_app` (configuration, routers, error pages, headers);
- ``security``: security headers, CSRF, the error handlers;
- ``deps``: typed dependencies (database sessions, the signed-in user and its scope);
- ``rendering``: templates and the French filters of the pages;
- ``pages/``: one module per page group, ``api.py``: the JSON API (``/api/v1``).

Handlers parse, call service functions (register, outgoing, reports) and render:
no SQL here. Every register query passes the signed-in user's ``scope.services``.
Imports every stage below it; never ``cli``.
"""
