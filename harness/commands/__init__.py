"""One module per `harness` subcommand; each defines `add_parser(subparsers, parent)`."""
