"""4情報 search of File 1 and File 2 (F1-6, F2-6, S-25)."""
