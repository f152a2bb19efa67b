# One image for the config, registry and gateway processes (the command picks which).
# Build stage: the same `make setup` as a checkout (dev tools from requirements/dev.lock)
# generates the gRPC code; then a separate virtualenv gets the runtime dependencies from
# requirements/runtime.lock (hashes required) and the project itself, nothing else.
FROM python:3.11-slim AS build
ENV PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update && apt-get install -y --no-install-recommends make && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md Makefile ./
COPY requirements ./requirements
COPY protos ./protos
COPY services ./services
COPY gateway ./gateway
RUN make setup
RUN python -m venv /app/.venv \
    && /app/.venv/bin/pip install --no-cache-dir --require-hashes -r requirements/runtime.lock \
    && /app/.venv/bin/pip install --no-cache-dir --no-deps . \
    && /app/.venv/bin/pip uninstall --yes pip

# Runtime stage: no compiler, make, grpcio-tools, linters or test tools; an unprivileged user.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH="/app/.venv/bin:$PATH"
RUN useradd --system --uid 10001 --no-create-home --home-dir /app switchboard \
    && mkdir -p /app/var && chown 10001:10001 /app/var
COPY --from=build /app/.venv /app/.venv
WORKDIR /app
USER 10001:10001
# Listeners reach the container network; the config service then refuses to start unless
# SWITCHBOARD_INTERNAL_TOKEN is set (docker compose passes it from switchboard.env).
ENV SWITCHBOARD_BIND_HOST=0.0.0.0
EXPOSE 8080 50052
CMD ["switchboard", "serve", "all"]
