"""The one in-process harness of the unit and reliability suites (and the packaging probes).

Modules by concern: ``environment`` (fake AWS settings, the cache reset), ``tables`` (boto3 session,
moto tables built from template.yaml), ``events`` (API Gateway events from ``events/``), ``functions``
(the Lambda context and the function loaders), ``rest`` (the REST API through its Lambda entry point),
``clients`` (simulated executors), ``management`` (the fake Management API), ``faults`` (botocore-level
faults), ``owners`` (scripts and API keys), ``relay`` (the deployed handlers in-process, for the
reliability suite), ``clock`` (a virtual clock) and ``processes`` (fresh interpreters).

Import it as ``from support.<module> import ...`` (pytest puts ``tests`` on ``sys.path``, see
pyproject.toml).
"""
