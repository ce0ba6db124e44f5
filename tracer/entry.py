"""The ``tracer`` console command: a module that imports nothing at load.

A worker process (tracer.mail.prepare) re-imports the main script of its parent;
with this entry point that costs nothing, where ``tracer.cli`` would load the
database layer for a process that never uses it.
"""


def main() -> int:
    from tracer.cli import main as run

    return run()
