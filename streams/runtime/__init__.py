"""Running agents on Faust: batches taken in offset order and acknowledged once handled, dead
letters for what cannot be handled, the patches of Faust, and the bulk table prefill.

The only code that touches Faust's or aiokafka's private names lives here (and the embedded
broker's workarounds in streams/embedded/tansu_quirks.py); each patch names the upstream issue it
works around and is backed by a test.
"""
