"""Operations: scheduled jobs, backups, the retention table (S-46, S-47, S-53, R-04..R-09, REC-9).

- `definitions`: the one list of scheduled jobs (name, cron schedule, Japanese label, function),
  read by the embedded scheduler (`scheduler`) and by the systemd unit generator (`systemd`).
- `runs`: the run records (term.job_runs) and the missed / failed flags; `runner` runs one job
  and records it, with its operation-log row as `system:scheduler`.
- `backup`, `restore`, `table_hashes`, `age_keys`: encrypted backups, the register and the
  restore drill.
- `retention`: the one retention table and the purge job that reads it.
"""
