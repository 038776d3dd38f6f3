"""Residents' rights: disclosure (F1-3, F2-3), provision-status disclosure (S-55), correction requests
(F1-4, F2-4), the inquiry log (REC-7).

Not built yet: the home of issue 12.
"""
