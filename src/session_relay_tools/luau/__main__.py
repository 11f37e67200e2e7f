from session_relay_tools.luau.command import main

main(prog_name="python -m session_relay_tools.luau")
