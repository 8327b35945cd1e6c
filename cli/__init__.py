"""The ``fleetbot`` command line: argparse commands over the automation services.

It sits above ``bot`` (``fleetbot serve`` starts the bot) and ``automation``; nothing below
imports it.
"""
