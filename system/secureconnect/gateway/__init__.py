"""The API gateway: the single public entry, proxying to the services."""
