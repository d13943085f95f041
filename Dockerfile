# iwsn-node image: one image for both the web process and the delivery workers
# (docker-compose.yml picks the command).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    IWSN_DATA_DIR=/data

# A fixed, unprivileged uid so files in the data volume keep one owner across rebuilds.
RUN groupadd --system --gid 10001 iwsn \
    && useradd --system --uid 10001 --gid iwsn --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin iwsn

# The app finds migrations/ relative to its source tree, so the tree stays at /app
# and /app stays the working directory.
WORKDIR /app
COPY . /app
# The versions the suite passed with (constraints.txt; scripts/lock refreshes it).
RUN pip install --no-cache-dir -c /app/constraints.txt /app

# Create and chown /data before declaring the VOLUME: changes made after VOLUME are
# discarded, and an empty named volume is initialised from this directory, owner included.
RUN mkdir -p /data && chown iwsn:iwsn /data
VOLUME ["/data"]

USER iwsn

EXPOSE 8000

# NodeInfo discovery answers without a database write or a signature. The Host header
# is the public domain, in case the app rejects requests for other host names.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:8000/.well-known/nodeinfo', headers={'Host': os.environ.get('IWSN_DOMAIN') or 'localhost'}), timeout=4)"]

# Web only by default; run `iwsn worker` in a second container for deliveries,
# or drop --no-workers to run both in one process.
CMD ["iwsn", "serve", "--host", "0.0.0.0", "--port", "8000", "--no-workers"]
