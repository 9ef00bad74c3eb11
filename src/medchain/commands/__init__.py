"""Domain command groups; each module exports `COMMANDS: list[click.Group]`."""
