# One image for the config, registry and gateway processes (the command picks which).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH="/app/.venv/bin:$PATH"
RUN apt-get update && apt-get install -y --no-install-recommends make && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md Makefile ./
COPY protos ./protos
COPY services ./services
COPY gateway ./gateway
# Same setup as `make run`: virtualenv, dependencies, generated gRPC code.
RUN make setup
RUN useradd --system --uid 10001 switchboard && mkdir -p /app/var && chown switchboard /app/var
USER switchboard
ENV SWITCHBOARD_BIND_HOST=0.0.0.0
EXPOSE 50051 50052 8080
CMD ["switchboard", "serve", "all"]
