"""A function whose Init fails: importing it raises, as a handler with a broken import would."""

raise RuntimeError("this function cannot be imported")
