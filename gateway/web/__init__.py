"""The web process: the app factory, the intake, the admin API, health, OpenAPI, the console."""
