"""The local run: `leadgate dev`, its instance file, the embedded Redis."""
