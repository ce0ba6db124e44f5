"""Mail going out: reply templates, replies, the outbox (the one place that sends),
deadline alerts and the weekly digest.

Imports the stages below (``core`` … ``register``, ``reports`` for the digest's
figures); never ``cli`` or ``web``.
"""
