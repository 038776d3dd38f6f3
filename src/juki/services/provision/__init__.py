"""Provision to other executive organs and transfer to other departments (F1-2, F1-2b, F2-2).

Not built yet: the home of issue 11.
"""
