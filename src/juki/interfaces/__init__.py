"""juki."""
