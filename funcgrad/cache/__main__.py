"""`python -m funcgrad.cache info|clear|prune` (a package `__main__`, so running it after
`funcgrad.cache` was imported by `funcgrad` itself raises no runpy warning)."""
import sys

from funcgrad.cache import main

sys.exit(main())
