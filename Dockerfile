FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY edge edge
COPY gateways gateways
COPY dashboards dashboards
COPY simulators simulators
RUN pip install --no-cache-dir . && useradd --system --create-home circlemade \
    && mkdir -p /var/lib/circlemade && chown circlemade /var/lib/circlemade
USER circlemade
ENTRYPOINT ["circlemade"]
CMD ["run", "-c", "/etc/circlemade/edge.toml"]
