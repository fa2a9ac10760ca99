#!/bin/bash
# Run once by the influxdb:2 image after its setup (/docker-entrypoint-initdb.d): map the
# bucket to a v1 database so that Grafana's InfluxQL queries find it.
set -euo pipefail
bucket_id=$(influx bucket find --name "${DOCKER_INFLUXDB_INIT_BUCKET}" --hide-headers | cut -f1)
influx v1 dbrp create --db "${DOCKER_INFLUXDB_INIT_BUCKET}" --rp autogen --default \
  --bucket-id "${bucket_id}" --org "${DOCKER_INFLUXDB_INIT_ORG}"
