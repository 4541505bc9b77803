"""Readers of the tables from outside a worker: a topic reader, the in-process block-list
reader, and the lookup replica served over HTTP."""
