"""The agents: one `@app.agent` per module, each reading one topic and writing what the rules
decide. `optout worker --agents` picks them by the names in AGENTS."""
