"""The block-list and settings tables, and the web views that read them."""
