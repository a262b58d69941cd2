"""`python -m wallet_api.cli` is the `aizu` command."""

from wallet_api.cli.main import main

main()
