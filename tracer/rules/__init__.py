"""The rules of the trade, pure: classification, deadlines, working-day calendar.

Imports only ``core`` (no database, no IMAP, no SMTP): a rule is data in
``rules/*.toml`` compiled here and applied to values.
"""
