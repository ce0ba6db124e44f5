"""The ground floor: the clock, the configuration, paths, logs, errors, locks, text.

Everything above may import it; it imports nothing of tracer outside ``core``
(no database, no rules, no mail).
"""
