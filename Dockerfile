# The LIS app image: every `lis` subcommand (relay, demo, db upgrade, topics create, ...).
#   docker compose build && docker compose up -d && docker compose run --rm demo
FROM python:3.11-slim

# confluent-kafka, psycopg[binary], fastavro and cryptography all ship manylinux wheels:
# no compiler or librdkafka/libpq packages are needed in the image.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Dependencies first (a layer that survives source edits), then the source.
COPY pyproject.toml README.md ./
RUN python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt
COPY . .
# Editable on purpose: migrations and alembic.ini sit at the repository root, which the code finds
# relative to its own files (infra/config/settings.py REPO_ROOT); a site-packages copy would lose them.
RUN pip install --no-deps -e .

# Not root: the relay and the demo need no privileges.
RUN useradd --create-home lis && chown -R lis /app
USER lis

ENTRYPOINT ["lis"]
CMD ["--help"]
