"""The daemon side of the Jeedom plugin ``enphasesecur``: its config, its messages, its lifecycle."""
