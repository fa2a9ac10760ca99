FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY edge edge
COPY gateways gateways
COPY dashboards dashboards
COPY simulators simulators
RUN pip install --no-cache-dir .
USER nobody
ENTRYPOINT ["circlemade"]
CMD ["run", "-c", "/etc/circlemade/edge.toml"]
