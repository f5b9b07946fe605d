"""Allow `python -m w2v_cli ...` as an alias of the `w2v` console script."""

from w2v_cli.cli import main

if __name__ == "__main__":
    main()
