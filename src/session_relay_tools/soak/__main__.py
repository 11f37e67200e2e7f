"""``python -m session_relay_tools.soak``."""

from session_relay_tools.soak.cli import main

main()
