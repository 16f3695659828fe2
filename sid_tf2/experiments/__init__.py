"""Experiments that combine the library's pieces end to end (`python -m sid_tf2.experiments.<name>`)."""
