"""Mail coming in: IMAP (``mailbox``), files (``importer``), bytes to values
(``parse``, ``prepare``), recorded exactly once (``ingest``), or kept raw (``quarantine``).

Imports ``core``, ``store``, ``rules`` and ``register``; never ``outgoing`` or ``reports``.
"""
