"""The HTTP API lab staff and clinicians use (FastAPI): ``app.create_app`` builds it from an
``ApiContext`` that the composition root (``infra.bootstrap.build_api``) assembles."""
