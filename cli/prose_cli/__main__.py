"""`python -m prose_cli ...`: the same command as `prose ...`."""

from .main import main

if __name__ == "__main__":  # pragma: no cover
    main()
