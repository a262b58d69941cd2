"""The HTTP shell: the FastAPI application over the wallet features and the domains."""

# prometheus_client's folder of the values of several processes: named here, where naming it
# imports nothing, as the folder must be emptied before prometheus_client is imported.
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
