"""What can be asked and done: the functions both API faces call, and where access is decided."""
