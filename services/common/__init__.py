"""Code shared by the config and registry services."""
