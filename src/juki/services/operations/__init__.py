"""Operations: scheduled jobs, backups, the retention table (S-46, R-04..R-09).

Not built yet: the home of issue 13.
"""
