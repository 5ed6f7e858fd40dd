"""`python -m api.cli`: the `linli` command without the console script."""

from api.cli import main

main()
