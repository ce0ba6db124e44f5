"""The register: a message joins or opens a request (``requests``), a reply stops
the clock (``threads``), data is kept only as long as allowed (``retention``).

Imports ``core``, ``store`` and ``rules``; never ``mail``, ``outgoing`` or ``reports``.
"""
