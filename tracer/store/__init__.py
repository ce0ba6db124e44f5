"""The schema and its engines: tables (``models``), engines and migrations (``db``), bulk rows.

Imports only ``core``. Knows nothing of mail, rules or requests' life cycle.
"""
