"""Follow-up after the first assessment: the first-hours response steps, corrective actions and the
contractor's improvement report, the post-incident review, the annual statistics and purge of
personal data past its retention period.
"""
