"""The only code that touches Faust's or aiokafka's private names: patches, batches, prefill.

Each patch names the upstream issue it works around and is backed by a test.
"""
