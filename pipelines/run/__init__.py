"""One run: extract, load, retire and record; signals, locks, resumed packages."""
