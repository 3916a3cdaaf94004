"""The office's back office shell: the admin site organised by task, the day's dashboard and the
dispatch board. It reads every other app and nothing depends on it."""
