"""Notices and the people they go to: rendering reports and letters from templates, the items a
notice must carry, the affected-person roster (encrypted at rest), mail merge, sealed files,
e-mail batches with their double check, and SMTP delivery that survives a crash.
"""
