"""tracer: traçabilité des courriels et réclamations des préfectures (Qual-e-Pref)."""

__version__ = "0.1.0"
