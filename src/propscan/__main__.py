"""`python -m propscan` runs the command line."""

from propscan.cli import main

if __name__ == "__main__":
    main()
