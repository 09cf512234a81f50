"""The project's tests; a package so that test sub-packages never shadow the real ones."""
