from session_relay_tools.local.stack import main

main()
