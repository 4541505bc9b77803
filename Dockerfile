# One image for every worker; `command` picks the agents (see docker-compose.yml).
FROM python:3.11-slim

WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY schemas schemas
COPY streams streams
COPY tables tables
COPY console console
RUN pip install --no-cache-dir . \
    && useradd --system --home-dir /var/lib/optout --create-home optout
USER optout

# The web server listens on loopback (OPTOUT_WEB_HOST's default) unless a deployment opens it:
# docker-compose.yml does, for the classify workers that are reached across its network.
ENV OPTOUT_DATA_DIR=/var/lib/optout/data \
    OPTOUT_WEB_PORT=6066
EXPOSE 6066
HEALTHCHECK --interval=10s --timeout=3s --start-period=120s \
    CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:6066/healthz', timeout=2)" || exit 1
ENTRYPOINT ["optout"]
CMD ["worker"]
