"""The config service: accounts, API keys, agent identities and incoming-call actions."""
