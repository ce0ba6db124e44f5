"""What the référent and the auditor read: indicators (``stats``), exports,
the quarterly control (``quality``), the service's state (``status``).

Reads the register (``core``, ``store``, ``rules``, ``register``); writes no request,
never imports ``mail`` or ``outgoing``.
"""
