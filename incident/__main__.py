"""`python -m incident` runs the command line."""

from incident.cli import main

if __name__ == "__main__":
    main()
