"""The law as evaluated: loading and checking the regime playbooks, the data-item catalogue and the
taxonomies, the assessment engine (conditions, exemptions, obligations), deadlines in working days,
and assess-and-save for a stored incident. It reads the register and never imports `notices`.
"""
