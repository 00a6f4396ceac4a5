"""The register: the incident record and the schema of its sections, the store that keeps records
(one TOML file per incident, locked and written atomically), the hash-chained audit log, the
store's configuration and the keys that protect personal data at rest. It depends on no other stage.
"""
