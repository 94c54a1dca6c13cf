# syntax=docker/dockerfile:1
#
# One image for every Cadena process. The first argument picks the process:
#   cadena serve <name> --bind 0.0.0.0:<port>   web (gunicorn)
#   cadena worker <name>                        outbox relay, consumers, jobs
#   cadena migrate <name>                       apply migrations, then exit
#
# No HEALTHCHECK here: the same image runs web, worker and migrate processes on
# different ports, so the orchestrator declares the checks (docker-compose.yml
# uses /readyz and /healthz, Kubernetes uses liveness and readiness probes).

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src

# Dependencies first, from pyproject.toml alone, so that a code change does
# not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt

# Then the project itself (not editable: the final stage has no source tree).
COPY . .
RUN pip install --no-deps . \
    && cadena --help > /dev/null


FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CADENA_ENV=prod \
    CADENA_VAR_DIR=/var/lib/cadena

RUN groupadd --system --gid 10001 cadena \
    && useradd --system --uid 10001 --gid cadena --no-create-home \
        --home-dir /var/lib/cadena --shell /usr/sbin/nologin cadena \
    && install -d -o cadena -g cadena -m 0750 /var/lib/cadena

# Owned by root and read-only for the process user.
COPY --from=builder /opt/venv /opt/venv

# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
WORKDIR /var/lib/cadena
EXPOSE 8000 8001 8002 8003 8004 8005 9100

ENTRYPOINT ["cadena"]
CMD ["serve", "gateway", "--bind", "0.0.0.0:8000"]
