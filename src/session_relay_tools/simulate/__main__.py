from session_relay_tools.simulate.command import main

main(prog_name="python -m session_relay_tools.simulate")
