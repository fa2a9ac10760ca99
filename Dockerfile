# The edge's image: the package is built as a wheel from the whole source tree (so every
# package of pyproject.toml is in it; tests/test_deploy.py checks that), installed into a
# slim image, and run as an unprivileged user. `circlemade status` is its health check.
FROM python:3.11-slim AS build
WORKDIR /src
COPY . .
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels \
    && useradd --system --create-home circlemade \
    && mkdir -p /var/lib/circlemade && chown circlemade /var/lib/circlemade
USER circlemade
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["circlemade", "status", "-c", "/etc/circlemade/edge.toml"]
ENTRYPOINT ["circlemade"]
CMD ["run", "-c", "/etc/circlemade/edge.toml"]
