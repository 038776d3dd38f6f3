"""Who may act: actors, operators, terminals, sessions, WebAuthn, passwords, rights, peer certificates."""
