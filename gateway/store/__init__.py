"""leadgate's Redis: every key and script, and the code that reads and writes them."""
