"""Pure rules: what to decide, given a message and the current state.

Nothing here imports Faust, aiokafka or aiohttp (tests/unit/test_layout.py checks), so every
rule is tested without a broker.
"""
