"""incident: a breach-response toolkit for privacy officers (register, assess, notify, follow up)."""

__version__ = "0.1.0"
