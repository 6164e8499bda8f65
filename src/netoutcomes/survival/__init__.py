"""Pure survival statistics on small tables (numpy/scipy). No I/O here."""
