"""A service process's life: start-up, event loop, shutdown, local secrets."""
