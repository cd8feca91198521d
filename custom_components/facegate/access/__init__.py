"""Access decisions: household modes, credentials, lockout and audit.

Plain Python without Home Assistant imports, so that every rule is unit-tested in milliseconds
and the Home Assistant layer only translates entities, events and users into these calls.
"""
